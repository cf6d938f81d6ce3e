"""The `export` stage: models/model -> models/onnx/ (ONNX + parity gate + variants + drift reference)."""

from __future__ import annotations

from pathlib import Path

from ..config import Params
from ..paths import EXPORT_METRICS_FILE, MODEL_DIR, ONNX_DIR
from ._report import ExportStageReport
from ._runner import StageContext, run_stage


def export(project: str | Path = ".", params: Params | None = None) -> ExportStageReport:
    """Export the trained model to the serving bundle, log it, and write metrics/export.json.

    Raises:
        ConfigError: no project folder / params.yaml, or invalid params.
        ModelError / DataError: no trained model or prepared data (run the earlier stages).
        ExportError: the ONNX export or its parity gate failed.
        TrackingError: the tracking store is unreachable (checked before the export work)."""
    return run_stage("export", project, params, _export)


def _export(ctx: StageContext) -> ExportStageReport:
    from ..atomic import write_json
    from ..data import load_prepared
    from ..export import export_bundle, log_export
    from ..tracking import log_splits

    params = ctx.params
    data = load_prepared()
    report = export_bundle(
        MODEL_DIR, data, params.export, max_length=params.model.max_length, target=ONNX_DIR,
        aggregation=params.serve.aggregation,
    )
    run_id = log_export(report, params)
    log_splits(run_id, data)  # export reads all three: train keys, validation and test
    metrics = report.metrics()
    write_json(EXPORT_METRICS_FILE, {**metrics, "mlflow_run_id": run_id})
    published = tuple(name for name, result in report.variants.items() if result.info.published)
    outputs = ctx.outputs(bundle=ONNX_DIR, metrics=EXPORT_METRICS_FILE)
    return ExportStageReport(**ctx.common(outputs, dict(metrics), (run_id,)), published=published)
