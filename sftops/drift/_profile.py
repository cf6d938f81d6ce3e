"""The reference side of every detector, as plain arrays, and the live observations fed to the monitor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class ReferenceProfile:
    """What in-distribution traffic looks like: samples and counts the detectors compare a window against.

    `unknown_unit` says what `unknown_hits / unknown_trials` counts: texts holding at least one
    unknown token (robust: tokens of one text are not independent trials) or single tokens.
    """

    embeddings: np.ndarray  # (n, d) pooled embeddings
    label_counts: np.ndarray  # (K,) predicted-label counts
    confidences: np.ndarray  # (n,) max class probability
    token_lengths: np.ndarray  # (n,) tokens per text
    unknown_hits: int
    unknown_trials: int
    unknown_unit: Literal["text", "token"] = "text"

    def __post_init__(self) -> None:
        if np.asarray(self.embeddings).ndim != 2:
            raise ValueError(f"reference embeddings must be 2-D, got shape {np.shape(self.embeddings)}")
        if len(self.label_counts) < 2 or np.sum(self.label_counts) <= 0:
            raise ValueError("reference label_counts needs at least 2 classes and some predictions")

    @property
    def num_labels(self) -> int:
        return len(self.label_counts)


@dataclass(frozen=True)
class Observations:
    """A batch of live predictions: pooled embeddings (b, d), class probabilities (b, K), token counts (b,)."""

    embeddings: np.ndarray
    probs: np.ndarray
    n_tokens: np.ndarray
    n_unknown: np.ndarray

    def __post_init__(self) -> None:
        b = len(self.embeddings)
        sizes = {len(self.probs), len(self.n_tokens), len(self.n_unknown)}
        if sizes != {b}:
            raise ValueError(
                f"observation arrays disagree on batch size: embeddings {b}, probs {len(self.probs)}, "
                f"n_tokens {len(self.n_tokens)}, n_unknown {len(self.n_unknown)}"
            )

    def __len__(self) -> int:
        return len(self.embeddings)
