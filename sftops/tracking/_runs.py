"""Helpers to log typed params to MLflow: flatten nested sections into dotted keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..config import Params

_MAX_PARAM_LEN = 6000  # MLflow's limit on a param value


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """{"train": {"learning_rate": 5e-5}} -> {"train.learning_rate": "5e-05"}."""
    flat: dict[str, str] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:_MAX_PARAM_LEN]
    return flat


def flat_params(params: Params, sections: Iterable[str] = ("data", "model", "train", "tune")) -> dict[str, str]:
    """The given params sections as dotted MLflow params."""
    dumped = params.model_dump(mode="json")
    return flatten({section: dumped[section] for section in sections})


def log_params_batch(run_id: str, values: Mapping[str, Any]) -> None:
    """Log many params to one run in batches of 100 (MLflow's per-request limit)."""
    from mlflow import MlflowClient
    from mlflow.entities import Param

    items = [Param(k, str(v)[:_MAX_PARAM_LEN]) for k, v in values.items()]
    client = MlflowClient()
    for start in range(0, len(items), 100):
        client.log_batch(run_id, params=items[start : start + 100])
