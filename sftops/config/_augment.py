"""The `data.augment` section: offline text augmentation of the training split (off by default)."""

from __future__ import annotations

from pydantic import Field

from ._base import Section


class AugmentConfig(Section):
    """Augment the training split with perturbed copies of its rows; validation and test are never touched."""

    enabled: bool = Field(False, description="Add augmented copies of training rows (counted in meta.json).")
