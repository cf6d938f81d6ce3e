"""The base class for every params section: strict, immutable, typed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A params.yaml section: unknown keys are errors, values are checked on parse."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
