"""Sample a trial's params from `tune.search_space` (define-by-run, with conditional LoRA/freeze keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import Categorical, FloatRange, IntRange

_STRATEGY = "model.strategy"


def _applies(key: str, strategy: str | None) -> bool:
    if key.startswith("model.lora."):
        return strategy in (None, "lora")
    if key == "model.freeze_layers":
        return strategy in (None, "freeze")
    return True


def suggest(trial, space: Mapping[str, FloatRange | IntRange | Categorical], base_strategy: str) -> dict[str, Any]:
    """Dotted-key values for one trial; LoRA keys only when the strategy is lora, freeze_layers only for freeze."""
    values: dict[str, Any] = {}
    strategy = base_strategy
    ordered = sorted(space, key=lambda k: (k != _STRATEGY, k))  # strategy first: others depend on it
    for key in ordered:
        dim = space[key]
        if key != _STRATEGY and not _applies(key, strategy):
            continue
        if isinstance(dim, FloatRange):
            values[key] = trial.suggest_float(key, dim.low, dim.high, log=dim.log)
        elif isinstance(dim, IntRange):
            values[key] = trial.suggest_int(key, dim.low, dim.high, step=dim.step, log=dim.log)
        else:
            values[key] = trial.suggest_categorical(key, list(dim.choices))
        if key == _STRATEGY:
            strategy = values[key]
    return values
