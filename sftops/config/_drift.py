"""The `drift` section: live-input drift detection and retraining triggers."""

from __future__ import annotations

from pydantic import Field, PositiveInt

from ._base import Section


class DriftConfig(Section):
    """Window size and alarm threshold for the drift detectors."""

    window: PositiveInt = 500
    p_value: float = Field(0.01, gt=0, lt=1)
