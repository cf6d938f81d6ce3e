"""Calibration of a classifier's confidence: a reliability table and the expected calibration error (ECE)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReliabilityBin:
    """Predictions whose confidence falls in [low, high): how many, their mean confidence and their accuracy."""

    low: float
    high: float
    count: int
    confidence: float
    accuracy: float


@dataclass(frozen=True)
class Reliability:
    """Equal-width confidence bins and the ECE: the count-weighted mean |accuracy - confidence| over the bins."""

    bins: list[ReliabilityBin]
    ece: float
    n: int


def reliability(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> Reliability:
    """Bin predictions by confidence (the last bin includes 1.0) and compare each bin's accuracy with its confidence."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    conf = np.asarray(confidence, dtype=np.float64)
    hit = np.asarray(correct, dtype=bool)
    if conf.shape != hit.shape:
        raise ValueError(f"confidence and correct differ in length: {conf.shape[0]} vs {hit.shape[0]}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.floor(conf * n_bins).astype(int), 0, n_bins - 1)  # bin b holds [b/n, (b+1)/n)
    bins, ece = [], 0.0
    for b in range(n_bins):
        mask = index == b
        count = int(mask.sum())
        mean_conf = float(conf[mask].mean()) if count else 0.0
        accuracy = float(hit[mask].mean()) if count else 0.0
        bins.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), count, mean_conf, accuracy))
        ece += count * abs(accuracy - mean_conf)
    return Reliability(bins, ece / len(conf) if len(conf) else 0.0, len(conf))
