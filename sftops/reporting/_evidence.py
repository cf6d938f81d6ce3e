"""Everything a version's report shows, read from MLflow: nothing is re-scored.

The version's tags and audit entry (the gate's challenger-vs-champion scores), its evaluate run (eval.json and
per-example predictions), the champion's evaluate run, the tune study's runs and the export run. Runs are found
by the lineage tags every stage writes: evaluate by `sftops.train_run_id`, tune and export by `sftops.data_hash`
and time. A piece that cannot be found becomes a note saying why, never an error.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..bundle import BUNDLE_ARTIFACT_PATH, MANIFEST_FILE
from ..evaluation import PREDICTIONS_FILE, read_predictions
from ..registry import AuditEntry, ModelRef, ResolvedModel, audit_history, resolve_model

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run


@dataclass(frozen=True)
class Trial:
    """One tuning trial: its number, state, objective value and sampled params."""

    number: int
    state: str
    value: float | None
    params: dict[str, str]


@dataclass(frozen=True)
class Tuning:
    """The tune study this version's training used: its metric, best trial and params, and every trial."""

    run_id: str
    study: str
    metric: str
    best_trial: str | None
    best_value: float | None
    best_params: dict[str, str]
    trials: list[Trial]


@dataclass(frozen=True)
class Variant:
    """One exported ONNX variant: F1 change against PyTorch, speed, and whether (or why not) it is published."""

    name: str
    device: str
    f1: float | None
    f1_delta: float | None
    samples_per_s: float | None
    speedup_vs_torch: float | None
    published: bool
    reason: str | None


@dataclass
class Evidence:
    """What the report of one version is built from; `notes` says, per section, why something is missing."""

    version: ResolvedModel
    task: str
    aliases: list[str] = field(default_factory=list)
    gate: AuditEntry | None = None
    evaluate_run_id: str | None = None
    evaluation: dict[str, Any] | None = None
    predictions: list[dict[str, Any]] | None = None
    champion_evaluation: dict[str, Any] | None = None
    tuning: Tuning | None = None
    variants: list[Variant] = field(default_factory=list)
    torch_samples_per_s: float | None = None
    notes: dict[str, str] = field(default_factory=dict)


def _latest(client: MlflowClient, experiment_id: str, query: str, before: int | None = None,
            after: int | None = None, top_level: bool = False) -> Run | None:
    runs = client.search_runs([experiment_id], query, order_by=["attributes.start_time DESC"], max_results=50)
    for run in runs:
        start = run.info.start_time or 0
        if (before is None or start <= before) and (after is None or start >= after) and not (
                top_level and "mlflow.parentRunId" in run.data.tags):
            return run
    return None


def _artifact(client: MlflowClient, run_id: str, path: str, folder: Path) -> Path | None:
    """Download one artifact of a run; None when the run has no such file."""
    try:
        return Path(client.download_artifacts(run_id, path, str(folder)))
    except Exception:  # MLflow raises several types for a missing artifact
        return None


def _start_time(client: MlflowClient, run_id: str | None) -> int | None:
    """When run `run_id` started (ms), or None when there is none or it is gone (deleted, another store)."""
    from mlflow.exceptions import MlflowException

    if not run_id:
        return None
    try:
        return client.get_run(run_id).info.start_time
    except MlflowException:
        return None


def _evaluate_run(client: MlflowClient, experiment_id: str, train_run_id: str | None) -> Run | None:
    if not train_run_id:
        return None
    return _latest(client, experiment_id,
                   f"tags.`sftops.stage` = 'evaluate' and tags.`sftops.train_run_id` = '{train_run_id}'")


def _eval_json(client: MlflowClient, run: Run, folder: Path) -> dict[str, Any] | None:
    path = _artifact(client, run.info.run_id, "evaluation/eval.json", folder)
    return json.loads(path.read_text(encoding="utf-8")) if path else None


def _tuning(client: MlflowClient, experiment_id: str, data_hash: str | None, before: int | None) -> Tuning | None:
    if not data_hash:
        return None
    parent = _latest(client, experiment_id, f"tags.`sftops.stage` = 'tune' and tags.`sftops.data_hash` = '{data_hash}'",
                     before=before, top_level=True)
    if parent is None:
        return None
    children = client.search_runs([experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'",
                                  max_results=1000)
    trials = sorted(
        (Trial(int(run.data.tags.get("optuna.trial_number", -1)), run.data.tags.get("sftops.trial_state", "?"),
               run.data.metrics.get("objective_value"),
               {k.removeprefix("trial."): v for k, v in run.data.params.items() if k.startswith("trial.")})
         for run in children), key=lambda t: t.number)
    tags, metrics = parent.data.tags, parent.data.metrics
    metric = next((k.removeprefix("best_") for k in metrics if k.startswith("best_")), "objective")
    return Tuning(parent.info.run_id, tags.get("optuna.study_name", "?"), metric, tags.get("sftops.best_trial"),
                  metrics.get(f"best_{metric}"),
                  {k.removeprefix("best."): v for k, v in sorted(tags.items()) if k.startswith("best.")}, trials)


def _variants(client: MlflowClient, evidence: Evidence, experiment_id: str, after: int | None, before: int | None,
              folder: Path) -> None:
    run_id = evidence.version.run_id
    path = _artifact(client, run_id, f"{BUNDLE_ARTIFACT_PATH}/{MANIFEST_FILE}", folder) if run_id else None
    if path is None:
        evidence.notes["export"] = "the version's run has no serving/manifest.json"
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    data_hash = evidence.version.data_hash
    export = _latest(client, experiment_id, f"tags.`sftops.stage` = 'export' and tags.`sftops.data_hash` = '{data_hash}'",
                     before=before, after=after) if data_hash else None
    speed = export.data.metrics if export else {}
    if export is None:
        evidence.notes["export"] = "no export run found for this version's data: speeds are not shown"
    evidence.torch_samples_per_s = speed.get("torch.samples_per_s")
    for name, info in manifest.get("variants", {}).items():
        evidence.variants.append(Variant(
            name, info.get("device", "any"), info.get("macro_f1", info.get("entity_f1")), info.get("f1_delta"),
            speed.get(f"{name}.samples_per_s"), speed.get(f"{name}.speedup_vs_torch"),
            bool(info.get("published", True)), info.get("reason")))


def collect_evidence(client: MlflowClient, ref: ModelRef | str) -> Evidence:
    """Resolve `ref` (NAME@ALIAS, NAME/VERSION) and gather what its report shows.

    Raises:
        RegistryUnreachable: the tracking server did not answer.
        RegistryError: no such model, version or alias."""
    version = resolve_model(ref, client=client)
    tags = version.tags
    aliases = list(client.get_model_version(version.name, version.version).aliases or [])
    evidence = Evidence(version=version, task=tags.get("sftops.task", "classification"), aliases=aliases)
    gates = [e for e in audit_history(client, version.name) if e.action == "gate" and e.version == version.version]
    evidence.gate = gates[-1] if gates else None
    if evidence.gate is None:
        evidence.notes["champion"] = "no gate decision is recorded for this version"
    if not version.run_id:
        evidence.notes["evaluation"] = "the version names no MLflow run"
        return evidence
    register_run = client.get_run(version.run_id)
    experiment_id = register_run.info.experiment_id
    train_run_id = tags.get("sftops.train_run_id")
    train_start = _start_time(client, train_run_id)
    with tempfile.TemporaryDirectory(prefix="sftops-report-") as tmp:
        folder = Path(tmp)
        evaluate = _evaluate_run(client, experiment_id, train_run_id)
        if evaluate is None:
            evidence.notes["evaluation"] = f"no evaluate run found for train run {train_run_id}"
        else:
            evidence.evaluate_run_id = evaluate.info.run_id
            evidence.evaluation = _eval_json(client, evaluate, folder / "eval")
            path = _artifact(client, evaluate.info.run_id, f"evaluation/{PREDICTIONS_FILE}", folder / "pred")
            evidence.predictions = read_predictions(path) if path else None
            if path is None:
                evidence.notes["predictions"] = (f"the evaluate run {evaluate.info.run_id} kept no per-example "
                                                 "predictions (evaluated before they were kept)")
        champion = evidence.gate.champion_before if evidence.gate else None
        if champion and champion != version.version:
            evidence.champion_evaluation = _champion_evaluation(client, version.name, champion, folder / "champion")
        evidence.tuning = _tuning(client, experiment_id, version.data_hash, train_start)
        if evidence.tuning is None:
            evidence.notes["tuning"] = "no tune run found for this version's data (trained with params.yaml as is?)"
        _variants(client, evidence, experiment_id, train_start, register_run.info.start_time, folder / "bundle")
    return evidence


def _champion_evaluation(client: MlflowClient, name: str, version: str, folder: Path) -> dict[str, Any] | None:
    """The eval.json of the champion the gate compared against, from that version's own evaluate run."""
    champion = resolve_model(ModelRef(name, version=version), client=client)
    if not champion.run_id:
        return None
    experiment_id = client.get_run(champion.run_id).info.experiment_id
    run = _evaluate_run(client, experiment_id, champion.tags.get("sftops.train_run_id"))
    if run is None:
        return None
    report = _eval_json(client, run, folder)
    return None if report is None else {**report, "data_hash": run.data.tags.get("sftops.data_hash")}
