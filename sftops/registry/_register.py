"""The register stage as one call: check and score the new bundle, log and register it, run the gate."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import get_args

from pydantic import BaseModel, ConfigDict

from ..bundle import BundleManifest
from ..config import Params
from ..data.prepared import load_prepared
from ..exceptions import RegistryError
from ..paths import METRICS_DIR, MODEL_DIR, ONNX_DIR, PREPARED_DIR
from ..tracking import connect, lineage_tags
from ._audit import Trigger
from ._client import registry_client
from ._gate import TestSplit, apply_gate, score_against_champion
from ._inputs import load_eval_report, load_model_lineage
from ._log import log_and_register

log = logging.getLogger(__name__)


class Registration(BaseModel):
    """models/registration.json: which version this pipeline run registered and what the gate decided."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    run_id: str
    decision: str
    reason: str
    champion: str | None
    metric: str
    scores: dict[str, float]


def current_trigger() -> Trigger:
    """What started this run: $SFTOPS_TRIGGER (pipeline, manual, retrain), default `pipeline`."""
    trigger = os.environ.get("SFTOPS_TRIGGER", "pipeline")
    if trigger not in get_args(Trigger):
        raise RegistryError(f"SFTOPS_TRIGGER={trigger!r}: expected one of {list(get_args(Trigger))}")
    return trigger  # type: ignore[return-value]


def register_model(
    params: Params,
    *,
    model_dir: Path = MODEL_DIR,
    bundle_dir: Path = ONNX_DIR,
    eval_file: Path = METRICS_DIR / "eval.json",
    prepared_dir: Path = PREPARED_DIR,
    project_dir: Path = Path("."),
) -> Registration:
    """Register models/model + models/onnx as a new version (`challenger`) and let the gate decide on `champion`."""
    cfg = params.registry
    trigger = current_trigger()
    model_lineage = load_model_lineage(model_dir)
    report = load_eval_report(eval_file)
    BundleManifest.load(bundle_dir)
    uri = connect(params.tracking)
    client = registry_client(uri, params.tracking.connect_timeout)
    lineage = lineage_tags(params, cwd=project_dir)
    test_df = load_prepared(prepared_dir).test
    test = TestSplit(list(test_df["text"]), list(test_df["label_name"]), lineage.get("sftops.data_hash"))

    log.info("scoring the new bundle and the current champion of %r on %d test texts", cfg.model_name, len(test_df))
    scores = score_against_champion(client, cfg, bundle_dir, test)
    metric = cfg.primary_metric
    version_tags = {
        **{k: v for k, v in lineage.items() if not k.startswith("mlflow.")},
        **model_lineage,
        f"sftops.metric.test_{metric}_onnx": f"{scores.challenger.metric(metric):.6f}",
        "sftops.metric.test_accuracy": f"{report.fine_tuned.accuracy:.6f}",
        "sftops.metric.test_macro_f1": f"{report.fine_tuned.macro_f1:.6f}",
    }
    metrics = {
        "test_accuracy": report.fine_tuned.accuracy,
        "test_macro_f1": report.fine_tuned.macro_f1,
        f"gate_test_{metric}": scores.challenger.metric(metric),
    }
    version = log_and_register(
        client, cfg.model_name, model_dir, bundle_dir,
        examples=test.texts[:3], run_tags={**lineage, "sftops.stage": "register"}, version_tags=version_tags,
        metrics=metrics, params={f"registry.{k}": v for k, v in cfg.model_dump().items()},
    )
    entry = apply_gate(client, cfg, str(version.version), scores, test, trigger)
    log.info("%s version %s: %s (%s); champion is version %s", cfg.model_name, version.version,
             entry.decision, entry.reason, entry.champion_after)
    return Registration(
        name=cfg.model_name, version=str(version.version), run_id=version.run_id, decision=entry.decision,
        reason=entry.reason, champion=entry.champion_after, metric=metric, scores=entry.scores,
    )
