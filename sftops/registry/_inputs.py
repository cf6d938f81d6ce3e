"""What the register stage reads besides the bundle: the trained model's lineage file and the evaluate stage's metrics."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from ..exceptions import ModelError, RegistryError


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SplitScores(_Lenient):
    """One model's test scores: accuracy and macro_f1 (classification), or entity_* and token_accuracy (tokens)."""

    accuracy: float | None = None
    macro_f1: float | None = None
    entity_precision: float | None = None
    entity_recall: float | None = None
    entity_f1: float | None = None
    token_accuracy: float | None = None

    def task_scores(self, names: tuple[str, ...], path: Path) -> dict[str, float]:
        """{name: score} for a task's metric `names`; a RegistryError when eval.json lacks one (another task's report)."""
        missing = [name for name in names if getattr(self, name) is None]
        if missing:
            raise RegistryError(f"{path}: the fine-tuned model has no {missing} (metrics of another task?); re-run `sftops evaluate`")
        return {name: float(getattr(self, name)) for name in names}


class EvalReport(_Lenient):
    """metrics/eval.json: the fine-tuned model and its baselines on the test split (tfidf_logreg or crf)."""

    fine_tuned: SplitScores
    untuned: SplitScores | None = None
    tfidf_logreg: SplitScores | None = None
    crf: SplitScores | None = None
    run_id: str | None = None  # the evaluate stage's MLflow run


def _read(path: Path, what: str, stage: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegistryError(f"{path}: {what} not found; run `sftops {stage}` (or `dvc repro {stage}`) first") from None


def load_model_lineage(model_dir: Path) -> dict[str, str]:
    """Version tags from the model folder's sftops_model.json: train run, params hash, data hash, git commit."""
    from ..modeling import TrainedModelInfo, check_model_dir

    try:
        info = TrainedModelInfo.load(check_model_dir(model_dir))
    except (ModelError, ValidationError) as exc:
        raise RegistryError(f"{model_dir}: cannot read the trained model's lineage ({exc}); re-run `sftops train`") from None
    fields = ("train_run_id", "params_hash", "data_hash", "git_commit")
    return {f"sftops.{field}": value for field in fields if (value := getattr(info, field))}


def load_eval_report(path: Path) -> EvalReport:
    """Parse metrics/eval.json."""
    text = _read(path, "test metrics", "evaluate")
    try:
        return EvalReport.model_validate(json.loads(text))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise RegistryError(f"{path}: malformed test metrics ({exc}); re-run `sftops evaluate`") from None
