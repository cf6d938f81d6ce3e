"""The `evaluate` stage: test-split metrics of models/model/ vs its baselines -> metrics/eval.json."""

from __future__ import annotations

from pathlib import Path

from ..config import TASK_METRICS, Params
from ..paths import CONFUSION_FILE, EVAL_FILE
from ._report import EvaluateReport
from ._runner import StageContext, run_stage


def evaluate(project: str | Path = ".", params: Params | None = None) -> EvaluateReport:
    """Score the trained model and its baselines on the fixed test split.

    Classification: the untuned base model and TF-IDF + LogReg (accuracy, macro-F1). Token classification:
    the untuned base model and a CRF (entity F1, token accuracy).

    Raises:
        ConfigError: no project folder / params.yaml, or invalid params.
        DataError: no prepared data (run `prepare` first).
        ModelError: no trained model in models/model (run `train` first).
        TrackingError: the tracking store is unreachable (checked before scoring)."""
    return run_stage("evaluate", project, params, _evaluate)


def _evaluate(ctx: StageContext) -> EvaluateReport:
    from ..data import load_prepared
    from ..evaluation import run_evaluate

    summary = run_evaluate(ctx.params, load_prepared())
    keys = sorted(TASK_METRICS[ctx.params.task])
    results = {k: v for k, v in summary.items() if isinstance(v, dict) and all(key in v for key in keys)}
    metrics = {f"{model}.{key}": scores[key] for model, scores in results.items() for key in keys}
    metrics["test_examples"] = summary["test_examples"]
    outputs = ctx.outputs(metrics=EVAL_FILE, confusion=CONFUSION_FILE)
    return EvaluateReport(**ctx.common(outputs, metrics, (summary["run_id"],)), results=results)
