"""The `tune` section: the Optuna study, its storage, sampler, pruner and search space."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from ._base import Section


class FloatRange(Section):
    """A float hyperparameter drawn from [low, high], optionally on a log scale."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _range(self) -> "FloatRange":
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
    def _range(self) -> "IntRange":
        if not self.low < self.high:
            raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
        return self


class Categorical(Section):
    """A hyperparameter drawn from a list of choices."""

    type: Literal["categorical"]
    choices: list[Union[int, float, str, bool]] = Field(min_length=1)


SearchDimension = Annotated[Union[FloatRange, IntRange, Categorical], Field(discriminator="type")]


class TuneConfig(Section):
    """An Optuna study over `train`/`model` keys, each trial a nested MLflow run."""

    study_name: str = "sftops"
    storage: str = Field(
        "sqlite:///optuna.db", description="Optuna RDB storage URL: sqlite:///file.db or postgresql://..."
    )
    n_trials: PositiveInt | None = 4
    timeout: PositiveFloat | None = Field(None, description="Seconds; the study stops after this.")
    metric: str = "eval_macro_f1"
    sampler_seed: int = 42
    pruner: Literal["median", "hyperband", "none"] = "median"
    max_train_samples: PositiveInt | None = Field(
        None, description="Trials train on a stratified subsample of this size; null = the full train split."
    )
    heartbeat_interval: PositiveInt = 60
    max_retries: int = Field(1, ge=0, description="Failed (e.g. killed) trials are retried this many times.")
    search_space: dict[str, SearchDimension] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _budget(self) -> "TuneConfig":
        if self.n_trials is None and self.timeout is None:
            raise ValueError("set n_trials or timeout (or both), otherwise the study never ends")
        return self
