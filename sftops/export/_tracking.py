"""Log an export to MLflow: per-variant test F1 (macro or entity), delta, parity and speed, plus the manifest."""

from __future__ import annotations

import logging

from ..config import Params
from ..tracking import lineage_tags
from ._bundle import ExportReport

log = logging.getLogger(__name__)


def log_export(report: ExportReport, params: Params) -> str:
    """One MLflow run named `export` in the experiment MLflow is connected to (`sftops.tracking.connect`); its run id."""
    import mlflow

    tags = {**lineage_tags(params), "sftops.stage": "export"}
    with mlflow.start_run(run_name="export", tags=tags) as run:
        mlflow.log_params({f"export.{k}": v for k, v in params.export.model_dump(mode="json").items()}
                          | {"model.max_length": params.model.max_length})
        mlflow.log_metrics({k: float(v) for k, v in report.metrics().items() if v is not None})
        mlflow.log_dict(report.manifest.model_dump(mode="json"), "export/manifest.json")
        unpublished = {n: r.info.reason for n, r in report.variants.items() if not r.info.published}
        if unpublished:
            mlflow.set_tag("sftops.export.unpublished", "; ".join(f"{n}: {why}" for n, why in unpublished.items()))
    log.info("export logged to MLflow run %s", run.info.run_id)
    return run.info.run_id
