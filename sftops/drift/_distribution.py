"""One-dimensional shifts: two-sample Kolmogorov-Smirnov (confidence, token length) and a two-proportion z-test."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ._result import DetectorResult


def ks_shift(name: str, reference: np.ndarray, window: np.ndarray, *, alpha: float) -> DetectorResult:
    """Two-sample KS test; the score is the KS distance (largest gap between the two CDFs).

    With ties (token lengths are integers) the p-value is conservative, so alarms stay rare.
    """
    ref = np.asarray(reference, dtype=float)
    win = np.asarray(window, dtype=float)
    result = stats.ks_2samp(ref, win, alternative="two-sided", method="asymp")
    p_value = float(result.pvalue)
    return DetectorResult(
        name=name, score=float(result.statistic), p_value=p_value, alarm=bool(p_value < alpha),
        n_window=len(win), n_reference=len(ref), test="two-sample KS",
    )


def proportion_shift(
    name: str, reference_hits: int, reference_total: int, window_hits: int, window_total: int, *, alpha: float
) -> DetectorResult:
    """Two-sided two-proportion z-test (pooled variance); the score is window rate minus reference rate."""
    if reference_total <= 0 or window_total <= 0:
        raise ValueError("both samples need at least one trial")
    p_ref = reference_hits / reference_total
    p_win = window_hits / window_total
    pooled = (reference_hits + window_hits) / (reference_total + window_total)
    se = math.sqrt(pooled * (1 - pooled) * (1 / reference_total + 1 / window_total))
    if se == 0:
        p_value = 1.0  # both rates are 0 (or both 1): nothing changed
    else:
        p_value = float(2 * stats.norm.sf(abs(p_win - p_ref) / se))
    return DetectorResult(
        name=name, score=p_win - p_ref, p_value=p_value, alarm=bool(p_value < alpha),
        n_window=window_total, n_reference=reference_total, test="two-proportion z",
    )
