"""A bounded window of live observations, tested against the reference every `check_every` observations.

The same monitor watches both tasks. For an NER reference the `labels` detector tests the mix of
predicted entity types and adds a second test, `entities` (predicted entities per text, KS); the
Bonferroni threshold divides `drift.p_value` by the number of tests actually run. The type mix counts
entities as independent draws although several may come from one text; `drift.psi_threshold` (an
effect size) keeps that from turning small shifts in a large window into alarms.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..config import DriftConfig
from ._distribution import ks_shift, proportion_shift
from ._labels import count_shift
from ._mmd import mmd_test
from ._profile import CONFIDENCE_DECIMALS, Observations, ReferenceProfile
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
        extra = 1 if reference.task == "token_classification" and "labels" in cfg.detectors else 0
        self.tests = len(cfg.detectors) + extra
        self.alpha = cfg.p_value / self.tests
        needed = math.floor(self.tests / cfg.p_value + 1e-9)  # the same rule DriftConfig checks for its detectors
        if "embedding" in cfg.detectors and cfg.mmd_permutations < needed:
            raise ValueError(
                f"drift.mmd_permutations={cfg.mmd_permutations} cannot give a p-value below {self.alpha:g} "
                f"(drift.p_value over the {self.tests} tests this model's drift check runs); use at least {needed}"
            )
        rng = np.random.default_rng(cfg.seed)
        emb = np.asarray(reference.embeddings, dtype=np.float32)
        if len(emb) > cfg.mmd_reference_size:
            emb = emb[np.sort(rng.choice(len(emb), cfg.mmd_reference_size, replace=False))]
        self._ref_embeddings = emb
        self._lock = threading.Lock()
        self._embeddings = _Ring(cfg.window, emb.shape[1], np.float32)
        self._counts = _Ring(cfg.window, reference.num_labels, np.int64)  # per text: one-hot label, or entities per type
        self._confidence = _Ring(cfg.window, None, np.float64)
        self._tokens = _Ring(cfg.window, None, np.int64)
        self._unknown = _Ring(cfg.window, None, np.int64)
        self.observed_total = 0
        self._since_check = 0
        self._evaluations = 0

    @property
    def window_size(self) -> int:
        """Observations in the window now (at most `drift.window`)."""
        return self._confidence.size

    def observe(self, batch: Observations) -> bool:
        """Add a batch to the window; True when an evaluation is due (every `check_every` observations)."""
        if len(batch) == 0:
            return False
        if batch.task != self.reference.task:
            raise ValueError(f"a {batch.task} batch cannot be observed against a {self.reference.task} reference")
        counts, confidence = self._counts_and_confidence(batch)
        emb = np.asarray(batch.embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[1] != self._ref_embeddings.shape[1]:
            raise ValueError(f"embeddings must be (batch, {self._ref_embeddings.shape[1]}), got {emb.shape}")
        with self._lock:
            self._embeddings.extend(emb)
            self._counts.extend(counts)
            self._confidence.extend(confidence)
            self._tokens.extend(np.asarray(batch.n_tokens, dtype=np.int64))
            self._unknown.extend(np.asarray(batch.n_unknown, dtype=np.int64))
            self.observed_total += len(batch)
            self._since_check += len(batch)
            due = self._since_check >= self.cfg.check_every
            self._since_check %= self.cfg.check_every
            return due

    def _counts_and_confidence(self, batch: Observations) -> tuple[np.ndarray, np.ndarray]:
        """Per text: counts over the reference's classes (a classifier's argmax one-hot) and the confidence."""
        k = self.reference.num_labels
        if batch.probs is not None:
            probs = np.asarray(batch.probs, dtype=np.float64)
            if probs.ndim != 2 or probs.shape[1] != k:
                raise ValueError(f"probs must be (batch, {k}), got {probs.shape}")
            return np.eye(k, dtype=np.int64)[probs.argmax(axis=1)], probs.max(axis=1).round(CONFIDENCE_DECIMALS)
        counts = np.asarray(batch.entity_counts, dtype=np.int64)
        if counts.ndim != 2 or counts.shape[1] != k:
            raise ValueError(f"entity_counts must be (batch, {k}), got {counts.shape}")
        return counts, np.asarray(batch.confidence, dtype=np.float64).round(CONFIDENCE_DECIMALS)

    def evaluate(self) -> DriftReport:
        """Test the current window against the reference with every configured detector."""
        with self._lock:
            n = self._confidence.size
            window = {
                "embeddings": self._embeddings.snapshot(), "counts": self._counts.snapshot(),
                "confidence": self._confidence.snapshot(), "tokens": self._tokens.snapshot(),
                "unknown": self._unknown.snapshot(),
            }
            total = self.observed_total
            self._evaluations += 1
            seed = self.cfg.seed + self._evaluations
        alpha = self.alpha
        if n < self.cfg.min_samples:
            return DriftReport("warming_up", time.time(), n, total, self.cfg.p_value, alpha)
        results = [result for name in self.cfg.detectors for result in self._run(name, window, alpha, seed)]
        return DriftReport("alarm" if any(r.alarm for r in results) else "ok", time.time(), n, total, self.cfg.p_value, alpha, results)

    def _run(self, name: str, window: dict[str, np.ndarray], alpha: float, seed: int) -> list[DetectorResult]:
        ref = self.reference
        if name == "labels":
            counts = window["counts"]
            mix = count_shift("labels", ref.label_counts, counts.sum(axis=0), alpha=alpha,
                              psi_threshold=self.cfg.psi_threshold)
            if ref.entities_per_text is None:
                return [mix]
            return [mix, ks_shift("entities", ref.entities_per_text, counts.sum(axis=1), alpha=alpha)]
        if name == "confidence":
            return [ks_shift("confidence", ref.confidences, window["confidence"], alpha=alpha)]
        if name == "length":
            return [ks_shift("length", ref.token_lengths, window["tokens"], alpha=alpha)]
        if name == "unknown":
            unknown, tokens = window["unknown"], window["tokens"]
            if ref.unknown_unit == "text":
                hits, trials = int(np.sum(unknown > 0)), len(unknown)
            else:
                hits, trials = int(unknown.sum()), int(tokens.sum())
            return [proportion_shift("unknown", ref.unknown_hits, ref.unknown_trials, hits, max(trials, 1), alpha=alpha)]
        if name == "embedding":
            return [mmd_test(
                self._ref_embeddings, window["embeddings"], alpha=alpha,
                permutations=self.cfg.mmd_permutations, seed=seed,
            )]
        raise ValueError(f"unknown drift detector {name!r}")
