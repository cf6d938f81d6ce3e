"""Predicted-label (or entity-type) mix shift: chi-square test of homogeneity plus the population stability index."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._result import DetectorResult

_EPS = 1e-4  # smoothing so an empty class does not make PSI infinite


def psi(reference: np.ndarray, window: np.ndarray) -> float:
    """Population stability index between two count (or proportion) vectors over the same classes."""
    p = np.asarray(reference, dtype=float)
    q = np.asarray(window, dtype=float)
    p = (p / p.sum()).clip(_EPS)
    q = (q / q.sum()).clip(_EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def label_shift(
    reference_counts: np.ndarray, window_labels: np.ndarray, *, alpha: float, psi_threshold: float = 0.0
) -> DetectorResult:
    """Did the predicted-label mix change? Alarms when the chi-square p-value < alpha and PSI >= psi_threshold.

    The reference is a finite sample too, so this is a 2xK homogeneity test, not goodness of fit.
    """
    ref = np.asarray(reference_counts, dtype=float)
    win = np.bincount(np.asarray(window_labels, dtype=int), minlength=len(ref))
    if len(win) > len(ref):
        raise ValueError(f"window has label ids up to {len(win) - 1}, reference knows {len(ref)} labels")
    return count_shift("labels", ref, win, alpha=alpha, psi_threshold=psi_threshold)


def count_shift(
    name: str, reference_counts: np.ndarray, window_counts: np.ndarray, *, alpha: float, psi_threshold: float = 0.0,
    test: str = "chi2 homogeneity + PSI",
) -> DetectorResult:
    """`label_shift` on two count vectors over the same classes (e.g. predicted entities per type).

    When either side counted nothing (an NER window without entities) there is no mix to compare:
    p-value 1, score 0 (a change in how many entities there are is the `entities` detector's job).
    """
    ref = np.asarray(reference_counts, dtype=float)
    win = np.asarray(window_counts, dtype=float)
    if ref.shape != win.shape:
        raise ValueError(f"window counts {win.shape} and reference counts {ref.shape} cover different classes")
    if ref.sum() <= 0 or win.sum() <= 0:
        return DetectorResult(name=name, score=0.0, p_value=1.0, alarm=False, n_window=int(win.sum()),
                              n_reference=int(ref.sum()), test=test)
    table = np.vstack([ref, win])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        p_value = 1.0
    else:
        p_value = float(stats.chi2_contingency(table, correction=False).pvalue)
    score = psi(ref, win)
    return DetectorResult(
        name=name, score=score, p_value=p_value, alarm=bool(p_value < alpha and score >= psi_threshold),
        n_window=int(win.sum()), n_reference=int(ref.sum()), test=test,
    )
