"""The register stage as one call: check and score the new bundle, log and register it, run the gate."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import get_args

from pydantic import BaseModel, ConfigDict

from ..bundle import BundleManifest
from ..config import TASK_METRICS, Params
from ..data.prepared import load_prepared
from ..dburl import redact
from ..exceptions import RegistryError
from ..paths import EVAL_FILE, MODEL_DIR, ONNX_DIR, PREPARED_DIR
from ..tracking import lineage_tags, log_splits
from ._audit import Trigger
from ._client import registry_client
from ._gate import GateScores, apply_gate, score_against_champion
from ._inputs import load_eval_report, load_model_lineage
from ._lock import decision_lock
from ._log import log_and_register
from ._scoring import TestSplit

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
    variants: dict[str, str] = {}
    devices: dict[str, str] = {}
    test_overlap: dict[str, int | None] = {}


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
    eval_file: Path = EVAL_FILE,
    prepared_dir: Path = PREPARED_DIR,
    project_dir: Path = Path("."),
) -> Registration:
    """Register models/model + models/onnx as a new version (`challenger`) and let the gate decide on `champion`.

    Logs to the tracking store the caller connected to (`sftops.stages.register` connects first).

    Raises:
        RegistryError: the model, bundle or eval report is missing or malformed (run the earlier stages), or the
            registry cannot be reached or refuses.
        TrackingError: the tracking store cannot be reached mid-way."""
    cfg = params.registry
    trigger = current_trigger()
    model_lineage = load_model_lineage(model_dir)
    report = load_eval_report(eval_file)
    tested = report.fine_tuned.task_scores(TASK_METRICS[params.task], eval_file)
    manifest = BundleManifest.load(bundle_dir)
    if manifest.task != params.task:
        raise RegistryError(f"{bundle_dir} holds a {manifest.task} model but params.task is {params.task}; "
                            "re-run `sftops export` (or `dvc repro`)")
    import mlflow  # lazily: importing sftops.registry stays light for the server

    client = registry_client(mlflow.get_tracking_uri(), params.tracking.connect_timeout)
    lineage = lineage_tags(params, cwd=project_dir)
    prepared = load_prepared(prepared_dir)
    test_df = prepared.test
    if prepared.task != params.task:
        raise RegistryError(f"{prepared_dir} was prepared for {prepared.task} but params.task is {params.task}; "
                            "re-run `sftops prepare` (or `dvc repro`)")
    data_hash = lineage.get("sftops.data_hash")
    if params.task == "token_classification":
        test = TestSplit(list(test_df["text"]), [], data_hash, tokens=list(test_df["tokens"]), tags=list(test_df["tags"]))
    else:
        test = TestSplit(list(test_df["text"]), list(test_df["label_name"]), data_hash)

    log.info("scoring the new bundle and the current champion of %r on %d test texts", cfg.model_name, len(test_df))
    scores = score_against_champion(
        client, cfg, bundle_dir, test, params.serve.device, params.serve.variant, params.serve.aggregation,
        min_agreement=params.export.min_agreement,
    )
    metric = cfg.primary_metric
    challenger = scores.challenger
    version_tags = {
        **{k: v for k, v in lineage.items() if not k.startswith("mlflow.")},
        **model_lineage,
        **({"sftops.eval_run_id": report.run_id} if report.run_id else {}),
        "sftops.task": params.task,
        f"sftops.metric.test_{metric}_onnx": f"{challenger.metric(metric):.6f}",
        **{f"sftops.metric.test_{name}": f"{value:.6f}" for name, value in tested.items()},
        **_gate_tags(scores),
    }
    metrics = {
        **{f"test_{name}": value for name, value in tested.items()},
        f"gate_test_{metric}": challenger.metric(metric),
        **{name: float(n) for name, n in (("gate_test_overlap", challenger.train_overlap),
                                          ("gate_champion_test_overlap",
                                           scores.champion.train_overlap if scores.champion else None))
           if n is not None},
    }
    registry_params = {f"registry.{k}": v for k, v in cfg.model_dump().items()}
    registry_params["registry.lock_url"] = redact(cfg.lock_url) if cfg.lock_url else None
    version = log_and_register(
        client, cfg.model_name, model_dir, bundle_dir,
        examples=test.texts[:3], run_tags={**lineage, "sftops.stage": "register"}, version_tags=version_tags,
        metrics=metrics, params=registry_params, task=params.task, aggregation=params.serve.aggregation,
        variant=_cpu_variant(manifest, params.serve.variant),
    )
    log_splits(str(version.run_id), prepared, ("test",), cwd=project_dir)  # the split the gate scores on
    entry = apply_gate(client, cfg, str(version.version), scores, test, trigger, lock=decision_lock(cfg, project_dir))
    for v, n in entry.test_overlap.items():
        if n:
            log.warning("version %s trained on %d of today's %d test texts: the comparison favours it", v, n, len(test_df))
    log.info("%s version %s: %s (%s); champion is version %s; scored %s; test texts each trained on: %s",
             cfg.model_name, version.version, entry.decision, entry.reason, entry.champion_after,
             entry.variants, {v: "unknown" if n is None else n for v, n in entry.test_overlap.items()})
    return Registration(
        name=cfg.model_name, version=str(version.version), run_id=str(version.run_id), decision=entry.decision,
        reason=entry.reason, champion=entry.champion_after, metric=metric, scores=entry.scores,
        variants=entry.variants, devices=entry.devices, test_overlap=entry.test_overlap,
    )


def _cpu_variant(manifest: BundleManifest, wanted: str | None) -> str | None:
    """serve.variant for the ONNX pyfunc when that variant runs on CPU; else None (the bundle's CPU choice)."""
    info = manifest.variants.get(wanted) if wanted else None
    return wanted if info is not None and info.device in ("any", "cpu") else None


def _gate_tags(scores: GateScores) -> dict[str, str]:
    """Version tags: which variant on which device the gate scored, and the test texts each compared model trained on."""
    def count(n: int | None) -> str:
        return "unknown" if n is None else str(n)

    tags = {
        "sftops.gate.variant": scores.challenger.variant,
        "sftops.gate.device": scores.challenger.device,
        "sftops.gate.test_overlap": count(scores.challenger.train_overlap),
    }
    if scores.champion is not None and scores.champion_version is not None:
        tags.update({
            "sftops.gate.champion_version": scores.champion_version,
            "sftops.gate.champion_variant": scores.champion.variant,
            "sftops.gate.champion_test_overlap": count(scores.champion.train_overlap),
        })
    return tags
