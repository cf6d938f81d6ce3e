"""Request and response bodies of the HTTP API (they are its OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

NonBlank = Annotated[str, StringConstraints(strict=True, min_length=1, pattern=r"\S")]


class PredictRequest(BaseModel):
    """One text (`text`) or several (`texts`), never both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"texts": ["I love it", "meh"]}]})

    text: NonBlank | None = Field(None, description="a single text to classify")
    texts: list[NonBlank] | None = Field(None, min_length=1, description="texts to classify (at most serve.max_texts)")

    @model_validator(mode="after")
    def _one_of(self) -> "PredictRequest":
        if (self.text is None) == (self.texts is None):
            raise ValueError('send exactly one of "text" (a string) or "texts" (a non-empty list of strings)')
        return self

    @property
    def items(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class TextPrediction(BaseModel):
    """The answer for one text, naming the model version that gave it."""

    label: str
    score: float = Field(description="probability of `label`")
    probabilities: dict[str, float] = Field(description="probability of every class")
    truncated: bool = Field(description="the text was longer than the model's max_length and was cut")
    model: str
    version: str


class PredictResponse(BaseModel):
    predictions: list[TextPrediction]


class ModelResponse(BaseModel):
    name: str
    version: str
    alias: str | None
    run_id: str | None
    data_hash: str | None
    metrics: dict[str, float]
    tags: dict[str, str]
    labels: list[str]
    max_length: int
    variant: str
    provider: str


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded", "loading"]
    model: str | None = None
    version: str | None = None
    detail: str | None = Field(None, description="why the server is degraded (e.g. serving a cached model)")
    registry_error: str | None = Field(None, description="the last failed registry check, if the last one failed")
    queue_depth: int


class ReadyResponse(BaseModel):
    ready: bool
    version: str | None = None


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "I love it", "label": "positive"}]})

    text: NonBlank
    label: NonBlank


class FeedbackResponse(BaseModel):
    stored: bool = Field(description="false when the same text with the same label was already stored")


class ReloadResponse(BaseModel):
    swapped: bool
    version: str


class ErrorResponse(BaseModel):
    detail: str
