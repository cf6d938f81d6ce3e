"""`models/best_params.json`: what tune found and train consumes."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..exceptions import ConfigError
from ..records import load_record, save_record


class BestParams(BaseModel):
    """The winning trial's dotted-key params (e.g. train.learning_rate) and its validation score."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, int | float | str | bool]
    value: float | None
    metric: str
    study_name: str
    best_trial: int | None
    n_complete: int
    n_pruned: int
    n_failed: int
    mlflow_run_id: str | None = None

    def save(self, path: str | Path) -> Path:
        return save_record(self, path)

    @classmethod
    def load(cls, path: str | Path) -> BestParams:
        return load_record(cls, path, ConfigError, missing="no tuned params; run `sftops tune` first (or pass --no-tuned)",
                           malformed="malformed best params; rerun `sftops tune`")
