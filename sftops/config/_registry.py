"""The `registry` section: the registered model and the promotion gate."""

from __future__ import annotations

from pydantic import Field

from ._base import Section


class RegistryConfig(Section):
    """Registered model name and how a challenger must beat the champion."""

    model_name: str = Field("sftops-sentiment", min_length=1)
    primary_metric: str = "macro_f1"
    min_improvement: float = Field(0.0, ge=0, description="Challenger must beat champion by at least this.")
