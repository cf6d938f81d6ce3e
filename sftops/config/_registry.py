"""The `registry` section: the registered model and the promotion gate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from ._base import Section


class RegistryConfig(Section):
    """Registered model name and how a challenger must beat the champion on today's test split."""

    model_name: str = Field("sftops-sentiment", min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    primary_metric: Literal["macro_f1", "accuracy"] = "macro_f1"
    min_improvement: float = Field(0.0, ge=0, le=1, description="Challenger must beat champion by at least this.")
    gate_batch_size: PositiveInt = Field(64, description="Batch size when the gate scores bundles with ONNX Runtime.")
