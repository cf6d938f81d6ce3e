"""What one drift detector says about one window: a score, a p-value and whether it alarms."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class DetectorResult:
    """One detector's verdict on the live window against the reference."""

    name: str
    score: float  # effect size: PSI, KS distance, rate difference, MMD^2
    p_value: float
    alarm: bool
    n_window: int
    n_reference: int
    test: str  # the statistical test behind the p-value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
