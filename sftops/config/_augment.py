"""The `data.augment` section: offline text augmentation of the training split (off by default)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt

from ._base import Section

# nlpaug augmenters that need no download (no embeddings, no language model)
Augmenter = Literal["keyboard", "char_swap", "char_insert", "char_delete", "word_swap", "word_delete", "word_split"]


def _default_augmenters() -> list[Augmenter]:
    return ["keyboard", "word_swap"]


class AugmentConfig(Section):
    """Augment the training split with perturbed copies of its rows; validation and test are never touched.

    Classification only: a perturbed text keeps its row's label. Deterministic for a given seed and data."""

    enabled: bool = Field(False, description="Add augmented copies of training rows (counted in meta.json).")
    augmenters: list[Augmenter] = Field(
        default_factory=_default_augmenters, min_length=1,
        description="nlpaug augmenters, offline: keyboard (typos of neighbouring keys), char_swap / char_insert / "
        "char_delete (random characters), word_swap / word_delete (random words), word_split (a word split in two). "
        "Each copy is made by one of them, chosen at random.",
    )
    copies: PositiveInt = Field(1, le=10, description="Augmented copies per training row (a copy equal to its "
                                                      "source text is dropped).")
    probability: float = Field(0.1, gt=0, le=1, description="Share of the characters (char_*, keyboard) or words "
                                                            "(word_*) of a text that an augmenter changes.")
    seed: NonNegativeInt = Field(42, description="Seed of the augmenters: the same data and seed give the same rows.")
