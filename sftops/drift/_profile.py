"""The reference side of every detector, as plain arrays, and the live observations fed to the monitor.

Both tasks share one shape: per text, counts over K classes (a classifier's predicted label
as a one-hot row; an NER model's predicted entities per type) and one confidence. An NER
profile also keeps the entities per text of its sample (`entities_per_text`), which is what
marks it as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..config import Task

# a drift reference keeps confidences to this many decimals; the monitor rounds live ones the same way, so a
# model whose confidences tie (e.g. every text alike) is not told apart from its reference by float noise
CONFIDENCE_DECIMALS = 5


@dataclass(frozen=True)
class ReferenceProfile:
    """What in-distribution traffic looks like: samples and counts the detectors compare a window against.

    `label_counts`: predicted-label counts (classification) or predicted entities per entity type (NER).
    `unknown_unit` says what `unknown_hits / unknown_trials` counts: texts holding at least one
    unknown token (robust: tokens of one text are not independent trials) or single tokens.
    """

    embeddings: np.ndarray  # (n, d) pooled embeddings
    label_counts: np.ndarray  # (K,) predicted-label counts, or (T,) predicted entities per type
    confidences: np.ndarray  # (n,) max class probability, or the NER model's mean tag probability over words
    token_lengths: np.ndarray  # (n,) tokens per text
    unknown_hits: int
    unknown_trials: int
    unknown_unit: Literal["text", "token"] = "text"
    entities_per_text: np.ndarray | None = None  # (n,) predicted entities per text: NER profiles only

    def __post_init__(self) -> None:
        if np.asarray(self.embeddings).ndim != 2:
            raise ValueError(f"reference embeddings must be 2-D, got shape {np.shape(self.embeddings)}")
        if self.entities_per_text is None:
            if len(self.label_counts) < 2 or np.sum(self.label_counts) <= 0:
                raise ValueError("reference label_counts needs at least 2 classes and some predictions")
            return
        # an NER sample may hold no entity at all (the entities detector then still watches the count)
        if len(self.label_counts) < 1:
            raise ValueError("an NER reference needs at least one entity type")
        if len(self.entities_per_text) != len(self.confidences):
            raise ValueError(f"entities_per_text has {len(self.entities_per_text)} texts, confidences {len(self.confidences)}")
        if int(np.sum(self.entities_per_text)) != int(np.sum(self.label_counts)):
            raise ValueError("entities_per_text and the entity type counts disagree on the number of entities")

    @property
    def task(self) -> Task:
        return "classification" if self.entities_per_text is None else "token_classification"

    @property
    def num_labels(self) -> int:
        """Classes counted in `label_counts`: labels, or entity types of an NER profile."""
        return len(self.label_counts)


@dataclass(frozen=True)
class Observations:
    """A batch of live predictions: pooled embeddings (b, d), class probabilities (b, K), token counts (b,).

    An NER model's batch has no probabilities: build it with `Observations.tagged` (entities per type per text
    and the mean tag confidence per text) instead.
    """

    embeddings: np.ndarray
    probs: np.ndarray | None
    n_tokens: np.ndarray
    n_unknown: np.ndarray
    entity_counts: np.ndarray | None = None  # (b, T) predicted entities per type: NER only
    confidence: np.ndarray | None = None  # (b,) NER only (a classifier's is its max probability)

    @classmethod
    def tagged(cls, embeddings: np.ndarray, entity_counts: np.ndarray, confidence: np.ndarray, n_tokens: np.ndarray,
               n_unknown: np.ndarray) -> Observations:
        """An NER model's batch: entity_counts (b, T) over the reference's entity types, confidence (b,)."""
        return cls(embeddings, None, n_tokens, n_unknown, entity_counts=entity_counts, confidence=confidence)

    def __post_init__(self) -> None:
        if (self.probs is None) == (self.entity_counts is None):
            raise ValueError("observations hold either class probabilities or entity counts (Observations.tagged)")
        if self.entity_counts is not None and self.confidence is None:
            raise ValueError("NER observations need a confidence per text")
        b = len(self.embeddings)
        per_text = {"probs": self.probs, "entity_counts": self.entity_counts, "confidence": self.confidence,
                    "n_tokens": self.n_tokens, "n_unknown": self.n_unknown}
        sizes = {name: len(array) for name, array in per_text.items() if array is not None}
        if set(sizes.values()) != {b}:
            raise ValueError(
                f"observation arrays disagree on batch size: embeddings {b}, "
                + ", ".join(f"{name} {size}" for name, size in sizes.items())
            )

    @property
    def task(self) -> Task:
        return "classification" if self.probs is not None else "token_classification"

    def __len__(self) -> int:
        return len(self.embeddings)
