"""A bounded window of live observations, tested against the reference every `check_every` observations."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..config import DriftConfig
from ._distribution import ks_shift, proportion_shift
from ._labels import label_shift
from ._mmd import mmd_test
from ._profile import Observations, ReferenceProfile
from ._result import DetectorResult


@dataclass(frozen=True)
class DriftReport:
    """The combined verdict of one evaluation: alarm when any detector's p-value < p_value / #detectors."""

    state: Literal["warming_up", "ok", "alarm"]
    evaluated_at: float
    window_size: int
    observed_total: int
    p_value: float
    detector_alpha: float
    detectors: list[DetectorResult] = field(default_factory=list)

    @property
    def alarm(self) -> bool:
        return self.state == "alarm"

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "alarm": self.alarm,
            "evaluated_at": self.evaluated_at,
            "window_size": self.window_size,
            "observed_total": self.observed_total,
            "p_value": self.p_value,
            "detector_alpha": self.detector_alpha,
            "detectors": {d.name: d.to_dict() for d in self.detectors},
        }


class _Ring:
    """Fixed-capacity FIFO of rows in one preallocated array."""

    def __init__(self, capacity: int, width: int | None, dtype: type) -> None:
        shape = (capacity,) if width is None else (capacity, width)
        self._data: np.ndarray = np.zeros(shape, dtype=dtype)
        self._next = 0
        self.size = 0

    def extend(self, rows: np.ndarray) -> None:
        capacity = len(self._data)
        rows = rows[-capacity:]
        idx = (self._next + np.arange(len(rows))) % capacity
        self._data[idx] = rows
        self._next = (self._next + len(rows)) % capacity
        self.size = min(capacity, self.size + len(rows))

    def snapshot(self) -> np.ndarray:
        """The rows held, oldest first (a copy)."""
        if self.size < len(self._data):
            return self._data[: self.size].copy()
        return np.roll(self._data, -self._next, axis=0)


class DriftMonitor:
    """Holds the last `drift.window` observations; `evaluate()` runs the configured detectors on them.

    `observe` is cheap and thread-safe (request threads call it); `evaluate` copies the window under
    the lock and tests outside it, so a slow evaluation never blocks observers.
    """

    def __init__(self, reference: ReferenceProfile, cfg: DriftConfig) -> None:
        self.reference = reference
        self.cfg = cfg
        rng = np.random.default_rng(cfg.seed)
        emb = np.asarray(reference.embeddings, dtype=np.float32)
        if len(emb) > cfg.mmd_reference_size:
            emb = emb[np.sort(rng.choice(len(emb), cfg.mmd_reference_size, replace=False))]
        self._ref_embeddings = emb
        self._lock = threading.Lock()
        self._embeddings = _Ring(cfg.window, emb.shape[1], np.float32)
        self._labels = _Ring(cfg.window, None, np.int64)
        self._confidence = _Ring(cfg.window, None, np.float64)
        self._tokens = _Ring(cfg.window, None, np.int64)
        self._unknown = _Ring(cfg.window, None, np.int64)
        self.observed_total = 0
        self._since_check = 0
        self._evaluations = 0

    @property
    def window_size(self) -> int:
        """Observations in the window now (at most `drift.window`)."""
        return self._labels.size

    def observe(self, batch: Observations) -> bool:
        """Add a batch to the window; True when an evaluation is due (every `check_every` observations)."""
        if len(batch) == 0:
            return False
        probs = np.asarray(batch.probs, dtype=np.float64)
        emb = np.asarray(batch.embeddings, dtype=np.float32)
        if probs.ndim != 2 or probs.shape[1] != self.reference.num_labels:
            raise ValueError(f"probs must be (batch, {self.reference.num_labels}), got {probs.shape}")
        if emb.ndim != 2 or emb.shape[1] != self._ref_embeddings.shape[1]:
            raise ValueError(f"embeddings must be (batch, {self._ref_embeddings.shape[1]}), got {emb.shape}")
        with self._lock:
            self._embeddings.extend(emb)
            self._labels.extend(probs.argmax(axis=1))
            self._confidence.extend(probs.max(axis=1))
            self._tokens.extend(np.asarray(batch.n_tokens, dtype=np.int64))
            self._unknown.extend(np.asarray(batch.n_unknown, dtype=np.int64))
            self.observed_total += len(batch)
            self._since_check += len(batch)
            due = self._since_check >= self.cfg.check_every
            self._since_check %= self.cfg.check_every
            return due

    def evaluate(self) -> DriftReport:
        """Test the current window against the reference with every configured detector."""
        with self._lock:
            n = self._labels.size
            window = {
                "embeddings": self._embeddings.snapshot(), "labels": self._labels.snapshot(),
                "confidence": self._confidence.snapshot(), "tokens": self._tokens.snapshot(),
                "unknown": self._unknown.snapshot(),
            }
            total = self.observed_total
            self._evaluations += 1
            seed = self.cfg.seed + self._evaluations
        alpha = self.cfg.detector_alpha
        if n < self.cfg.min_samples:
            return DriftReport("warming_up", time.time(), n, total, self.cfg.p_value, alpha)
        results = [self._run(name, window, alpha, seed) for name in self.cfg.detectors]
        return DriftReport("alarm" if any(r.alarm for r in results) else "ok", time.time(), n, total, self.cfg.p_value, alpha, results)

    def _run(self, name: str, window: dict[str, np.ndarray], alpha: float, seed: int) -> DetectorResult:
        ref = self.reference
        if name == "labels":
            return label_shift(ref.label_counts, window["labels"], alpha=alpha, psi_threshold=self.cfg.psi_threshold)
        if name == "confidence":
            return ks_shift("confidence", ref.confidences, window["confidence"], alpha=alpha)
        if name == "length":
            return ks_shift("length", ref.token_lengths, window["tokens"], alpha=alpha)
        if name == "unknown":
            unknown, tokens = window["unknown"], window["tokens"]
            if ref.unknown_unit == "text":
                hits, trials = int(np.sum(unknown > 0)), len(unknown)
            else:
                hits, trials = int(unknown.sum()), int(tokens.sum())
            return proportion_shift("unknown", ref.unknown_hits, ref.unknown_trials, hits, max(trials, 1), alpha=alpha)
        if name == "embedding":
            return mmd_test(
                self._ref_embeddings, window["embeddings"], alpha=alpha,
                permutations=self.cfg.mmd_permutations, seed=seed,
            )
        raise ValueError(f"unknown drift detector {name!r}")
