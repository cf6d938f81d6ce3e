"""Helpers to log typed params to MLflow: flatten nested sections into dotted keys, never a password."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..config import Params
from ..dburl import scrub

_MAX_PARAM_LEN = 6000  # MLflow's limit on a param value


def param_value(value: Any) -> str:
    """A value as MLflow stores it: a string within MLflow's length limit, any URL's password hidden.

    The guard for every param sftops logs: a URL param (tune.storage, a lock URL) keeps its `${VAR}`
    reference, a password written into params.yaml becomes ***."""
    return scrub(str(value))[:_MAX_PARAM_LEN]


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """{"train": {"learning_rate": 5e-5}} -> {"train.learning_rate": "5e-05"} (values through `param_value`)."""
    flat: dict[str, str] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = param_value(value)
    return flat


def flat_params(params: Params, sections: Iterable[str] = ("data", "model", "train", "tune")) -> dict[str, str]:
    """The task and the given params sections as dotted MLflow params (the task first: runs of both tasks share the UI)."""
    dumped = params.model_dump(mode="json")
    return {"task": params.task, **flatten({section: dumped[section] for section in sections})}


def log_params_batch(run_id: str, values: Mapping[str, Any]) -> None:
    """Log many params to one run in batches of 100 (MLflow's per-request limit)."""
    from mlflow import MlflowClient
    from mlflow.entities import Param

    items = [Param(k, param_value(v)) for k, v in values.items()]
    client = MlflowClient()
    for start in range(0, len(items), 100):
        client.log_batch(run_id, params=items[start : start + 100])
