"""params.yaml as one typed object, parsed once; errors name the key and what was expected."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from ..exceptions import ConfigError
from ._base import Section
from ._data import DataConfig
from ._drift import DriftConfig
from ._export import ExportConfig
from ._model import ModelConfig
from ._registry import RegistryConfig
from ._serve import ServeConfig
from ._tracking import TrackingConfig
from ._train import TrainConfig
from ._tune import TuneConfig

Task = Literal["classification", "token_classification"]

# what each task's metrics are called: the gate's and the trials' defaults, and which of them a task may use
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("macro_f1", "accuracy"),
    "token_classification": ("entity_f1", "token_accuracy"),
}


class Params(Section):
    """Every knob the pipeline reads, one typed section per concern."""

    task: Task = Field(
        "classification", description="classification: one label per text; token_classification: one tag per token "
        "(named entities, IOB2), served as entity spans."
    )
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    tune: TuneConfig = TuneConfig()
    tracking: TrackingConfig = TrackingConfig()
    registry: RegistryConfig = RegistryConfig()
    export: ExportConfig = ExportConfig()
    serve: ServeConfig = ServeConfig()
    drift: DriftConfig = DriftConfig()

    @model_validator(mode="before")
    @classmethod
    def _task_defaults(cls, values: Any) -> Any:
        """The gate's metric and the trials' metric default to the task's own when params.yaml does not name them."""
        if not isinstance(values, dict) or values.get("task") != "token_classification":
            return values
        values = dict(values)
        for section, key, default in (("registry", "primary_metric", "entity_f1"), ("tune", "metric", "eval_entity_f1")):
            given = values.get(section)
            if given is None:
                values[section] = {key: default}
            elif isinstance(given, dict) and key not in given:
                values[section] = {**given, key: default}
        return values

    @model_validator(mode="after")
    def _task_metrics(self) -> Params:
        labels = self.data.labels
        if labels is not None and self.task == "classification" and len(labels) < 2:
            raise ValueError(f"data.labels needs at least 2 classes, got {labels}")
        if labels is not None and self.task == "token_classification" and not labels:
            raise ValueError("data.labels lists the entity types to keep; give at least one, or null for every type in the data")
        allowed = TASK_METRICS[self.task]
        if self.registry.primary_metric not in allowed:
            raise ValueError(
                f"registry.primary_metric {self.registry.primary_metric!r} is not a {self.task} metric; use one of {list(allowed)}"
            )
        if self.tune.metric.removeprefix("eval_") not in allowed:
            raise ValueError(
                f"tune.metric {self.tune.metric!r} is not a {self.task} metric; use one of {['eval_' + m for m in allowed]}"
            )
        return self


def _describe(error: Mapping[str, Any]) -> str:
    loc = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-after"))
    msg = error["msg"]
    if error["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; see params.yaml in the sftops repo for every key)"
    elif error["type"] not in ("value_error", "assertion_error") and "input" in error:
        msg = f"{msg}, got {error['input']!r}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return f"{loc or '<top level>'}: {msg}"


def parse_params(raw: dict[str, Any], source: str = "params") -> Params:
    """Validate a params mapping; raise ConfigError listing every bad key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections (data, model, train, ...), got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate a params YAML file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found; run from the project folder or pass --params PATH")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}); fix the syntax and retry") from None
    return parse_params(raw if raw is not None else {}, source=str(path))
