"""The `tune` section: the Optuna study, its storage, sampler, pruner and search space."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveFloat, PositiveInt, TypeAdapter, ValidationError, field_validator, model_validator

from ._base import Section
from ._model import LoraConfig, ModelConfig
from ._secrets import EnvStr, expand_env
from ._train import TrainConfig

# search-space keys name a field of these sections by its dotted path in params.yaml
_TUNABLE: dict[str, type[Section]] = {"train": TrainConfig, "model": ModelConfig, "model.lora": LoraConfig}
_NOT_TUNABLE = {"model.base", "model.lora", "model.lora.target_modules", "train.seed", "train.precision"}


class FloatRange(Section):
    """A float hyperparameter drawn from [low, high], optionally on a log scale."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _range(self) -> FloatRange:
        if not self.low < self.high:
            raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scale range needs low > 0, got {self.low}")
        return self


class IntRange(Section):
    """An integer hyperparameter drawn from [low, high]."""

    type: Literal["int"]
    low: int
    high: int
    step: PositiveInt = 1
    log: bool = False

    @model_validator(mode="after")
    def _range(self) -> IntRange:
        if not self.low < self.high:
            raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
        return self


class Categorical(Section):
    """A hyperparameter drawn from a list of choices."""

    type: Literal["categorical"]
    choices: list[int | float | str | bool] = Field(min_length=1)


SearchDimension = Annotated[FloatRange | IntRange | Categorical, Field(discriminator="type")]


class TuneConfig(Section):
    """An Optuna study over `train`/`model` keys, each trial a nested MLflow run."""

    study_name: str = "sftops"
    storage: EnvStr = Field(
        "sqlite:///optuna.db", description="Optuna RDB storage URL: sqlite:///file.db or postgresql://...; "
        "${VAR} takes a value (e.g. the password) from the environment when connecting"
    )
    n_trials: PositiveInt | None = 4
    timeout: PositiveFloat | None = Field(None, description="Seconds; the study stops after this.")
    metric: str = Field(
        "eval_macro_f1", description="The validation metric trials maximise; when not given, the task's own: "
        "eval_macro_f1 (classification), eval_entity_f1 (token classification)."
    )
    sampler_seed: int = 42
    pruner: Literal["median", "hyperband", "none"] = "median"
    max_train_samples: PositiveInt | None = Field(
        None, description="Trials train on a subsample of this size (stratified by label; seeded random for token "
        "classification); null = the full train split."
    )
    heartbeat_interval: PositiveInt = 60
    max_retries: int = Field(1, ge=0, description="Failed (e.g. killed) trials are retried this many times.")
    enabled: bool = Field(True, description="false = run no trials; train then uses params.yaml's values as they are.")
    max_eval_samples: PositiveInt | None = Field(
        None, description="Trials score on a validation subsample of this size (stratified by label; random for token "
        "classification); null = all of it."
    )
    evals_per_epoch: PositiveInt = Field(2, description="Validation evaluations (pruner reports) per epoch in a trial.")
    pruner_startup_trials: int = Field(1, ge=0, description="The median pruner prunes nothing until this many trials finished.")
    pruner_min_evals: PositiveInt = Field(
        1, description="The earliest evaluation (1 = the first) at which a trial may be pruned; early evaluations are noisy."
    )
    search_space: dict[str, SearchDimension] = Field(
        default_factory=dict,
        description="Keys are dotted params paths such as train.learning_rate, model.strategy, model.lora.r.",
    )

    @field_validator("search_space")
    @classmethod
    def _known_keys(cls, space: dict[str, SearchDimension]) -> dict[str, SearchDimension]:
        for key, dim in space.items():
            _check_dimension(key, dim)
        return space

    @model_validator(mode="after")
    def _budget(self) -> TuneConfig:
        if self.n_trials is None and self.timeout is None:
            raise ValueError("set n_trials or timeout (or both), otherwise the study never ends")
        return self

    def expanded_storage(self) -> str:
        """`storage` with its `${VAR}` references filled in: only for connecting, never for logs or messages."""
        return expand_env(self.storage, "tune.storage")


def tunable_keys() -> list[str]:
    """Every dotted key a search space may name."""
    keys = [f"{prefix}.{name}" for prefix, section in _TUNABLE.items() for name in section.model_fields]
    return sorted(k for k in keys if k not in _NOT_TUNABLE)


def _check_dimension(key: str, dim: FloatRange | IntRange | Categorical) -> None:
    prefix, _, name = key.rpartition(".")
    section = _TUNABLE.get(prefix)
    if section is None or name not in section.model_fields or key in _NOT_TUNABLE:
        raise ValueError(f"{key!r} is not a tunable key; expected one of {', '.join(tunable_keys())}")
    field = section.model_fields[name]
    # the field's own type and bounds, without the section's cross-field checks
    adapter: TypeAdapter[object] = TypeAdapter(field.rebuild_annotation())
    values = dim.choices if isinstance(dim, Categorical) else [dim.low, dim.high]
    for value in values:
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise ValueError(f"{key}: value {value!r} is not allowed ({reason})") from None
