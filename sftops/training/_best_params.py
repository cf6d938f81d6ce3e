"""`models/best_params.json`: what tune found and train consumes."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from ..atomic import write_json
from ..exceptions import ConfigError


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
        return write_json(path, self.model_dump(mode="json"))

    @classmethod
    def load(cls, path: str | Path) -> "BestParams":
        path = Path(path)
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no tuned params; run `sftops tune` first (or pass --no-tuned)") from None
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ConfigError(f"{path}: malformed best params ({exc}); rerun `sftops tune`") from None
