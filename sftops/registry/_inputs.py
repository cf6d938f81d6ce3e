"""What the register stage reads besides the bundle: the trained model's lineage file and the evaluate stage's metrics."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from ..exceptions import ModelError, RegistryError


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SplitScores(_Lenient):
    accuracy: float
    macro_f1: float


class EvalReport(_Lenient):
    """metrics/eval.json: the fine-tuned model and its baselines on the test split."""

    fine_tuned: SplitScores
    untuned: SplitScores | None = None
    tfidf_logreg: SplitScores | None = None


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
