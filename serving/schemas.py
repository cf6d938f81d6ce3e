"""Request and response bodies of the HTTP API (they are its OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from sftops.bundle import BundleTask
from sftops.registry import ResolvedModel
from sftops.textcheck import control_characters

NonBlank = Annotated[str, StringConstraints(strict=True, min_length=1, pattern=r"\S")]


def _no_control_characters(text: str) -> str:
    found = control_characters(text)
    if found:
        raise ValueError(f"contains control characters {', '.join(found[:5])}; only tab, newline and CR are allowed")
    return text


CleanText = Annotated[NonBlank, AfterValidator(_no_control_characters)]


class PredictRequest(BaseModel):
    """One text (`text`) or several (`texts`), never both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"texts": ["I love it", "meh"]}]})

    text: NonBlank | None = Field(None, description="a single text to classify (or tag, with an NER model)")
    texts: list[NonBlank] | None = Field(
        None, min_length=1, description="texts to classify or tag (at most serve.max_texts)")

    @model_validator(mode="after")
    def _one_of(self) -> PredictRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError('send exactly one of "text" (a string) or "texts" (a non-empty list of strings)')
        return self

    @property
    def items(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class TextPrediction(BaseModel):
    """A classification model's answer for one text, naming the model version that gave it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "label": "positive", "score": 0.93, "probabilities": {"negative": 0.02, "neutral": 0.05, "positive": 0.93},
        "truncated": False, "model": "sentiment", "version": "3"}]})

    label: str
    score: float = Field(description="probability of `label`")
    probabilities: dict[str, float] = Field(description="probability of every class")
    truncated: bool = Field(description="the text was longer than the model's max_length and was cut")
    model: str
    version: str


class EntitySpan(BaseModel):
    """One entity found in a text: `text == sent_text[start:end]`, offsets in characters (Python str indices)."""

    text: str = Field(description="the entity as it appears in the text sent (original case and spacing)")
    type: str = Field(description="the entity type, one of the model's entity_types")
    start: int = Field(description="character offset of the entity's first character in the text sent")
    end: int = Field(description="character offset just past the entity's last character (exclusive)")
    score: float = Field(description="mean over the entity's words of their tag's probability")


class TextEntities(BaseModel):
    """A token-classification (NER) model's answer for one text, naming the model version that gave it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "entities": [{"text": "Ada Lovelace", "type": "PER", "start": 0, "end": 12, "score": 0.97},
                     {"text": "London", "type": "LOC", "start": 22, "end": 28, "score": 0.99}],
        "truncated": False, "model": "ner", "version": "2"}]})

    entities: list[EntitySpan] = Field(description="the entities in text order; [] when there are none")
    truncated: bool = Field(description="the text was longer than the model's max_length: words past the cut get no entity")
    model: str
    version: str


class PredictResponse(BaseModel):
    """One answer per text, in the order sent: `TextPrediction` from a classification model, `TextEntities` from an
    NER model (GET /v1/model says which task is served)."""

    predictions: list[TextPrediction | TextEntities]


class ModelResponse(ResolvedModel):
    """The served version's registry facts (name, version, alias, run_id, data_hash, metrics, tags) and how it runs."""

    task: BundleTask = Field(description="what /v1/predict answers: a label per text, or entity spans per text")
    labels: list[str] = Field(description="the classes, or for token classification the IOB2 tags (O, B-X, I-X ...)")
    entity_types: list[str] = Field(description="the entity types an NER model finds; [] for classification")
    max_length: int
    variant: str
    provider: str


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded", "loading"]
    model: str | None = None
    version: str | None = None
    task: BundleTask | None = Field(None, description="the served model's task, once one is loaded")
    detail: str | None = Field(
        None, description="why the server is degraded (serving a cached model, a new version that failed to load)")
    registry_error: str | None = Field(None, description="the last failed registry check, if the last one failed")
    queue_depth: int


class ReadyResponse(BaseModel):
    ready: bool
    version: str | None = None


class FeedbackEntity(BaseModel):
    """One entity the client says a text holds: a character span of that text and its type."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0, description="character offset of the entity's first character in `text`")
    end: int = Field(gt=0, description="character offset just past the entity's last character (exclusive)")
    type: NonBlank = Field(description="one of the served model's entity types")

    @model_validator(mode="after")
    def _ordered(self) -> FeedbackEntity:
        if self.end <= self.start:
            raise ValueError(f"entity end {self.end} must be greater than its start {self.start} (end is exclusive)")
        return self


class FeedbackRequest(BaseModel):
    """A corrected answer for one text: `label` for a classifier, `entities` for a token-classification (NER) model."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"text": "I love it", "label": "positive"},
        {"text": "Ada Lovelace lived in London", "entities": [
            {"start": 0, "end": 12, "type": "PER"}, {"start": 22, "end": 28, "type": "LOC"}]},
    ]})

    text: CleanText = Field(description="no control characters other than tab, newline and CR")
    label: NonBlank | None = Field(None, description="the right class (classification models)")
    entities: list[FeedbackEntity] | None = Field(
        None, description="every entity in the text, char offsets into `text` (NER models; [] when it holds none)")

    @model_validator(mode="after")
    def _one_of(self) -> FeedbackRequest:
        if (self.label is None) == (self.entities is None):
            raise ValueError('send exactly one of "label" (a classification model\'s class) or "entities" '
                             '(a list of {start, end, type} for an NER model)')
        for entity in self.entities or []:
            if entity.end > len(self.text):
                raise ValueError(f"entity {entity.start}:{entity.end} ends past the text ({len(self.text)} characters)")
        return self


class FeedbackResponse(BaseModel):
    id: int = Field(description="the stored row (the existing one when already stored); an admin deletes it by this id")
    stored: bool = Field(description="false when the same text with the same label was already stored")


class FeedbackDeleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ids": [12], "texts": ["I love it"]}]})

    ids: list[int] = Field(default_factory=list, description="rows to delete, as POST /v1/feedback returned them")
    texts: list[str] = Field(default_factory=list, description="delete every row with one of these texts (any label)")

    @model_validator(mode="after")
    def _something(self) -> FeedbackDeleteRequest:
        if not self.ids and not self.texts:
            raise ValueError('send "ids" and/or "texts" (non-empty lists) naming the feedback to delete')
        return self


class FeedbackDeleteResponse(BaseModel):
    deleted: int = Field(description="rows deleted")


class ReloadResponse(BaseModel):
    swapped: bool
    version: str


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"force": False}]})

    force: bool = Field(False, description="retrain even if no trigger fired, ignoring the cooldown")


class RetrainStarted(BaseModel):
    pid: int = Field(description="the `sftops retrain` process; GET /v1/drift shows its progress under `retrain`")
    log_file: str


class ErrorResponse(BaseModel):
    detail: str


class DetectorStatus(BaseModel):
    """One drift detector's verdict on the last checked window."""

    score: float = Field(description="effect size: PSI (labels), KS distance, rate difference (unknown), MMD^2 (embedding)")
    p_value: float
    alarm: bool = Field(description="p_value below the per-detector threshold (drift.p_value / detectors)")
    n_window: int
    n_reference: int
    test: str = Field(description="the statistical test behind the p-value")


class DriftCheck(BaseModel):
    """The last drift evaluation of the live window against the served model's reference."""

    state: Literal["warming_up", "ok", "alarm"]
    alarm: bool
    evaluated_at: float = Field(description="unix time")
    window_size: int = Field(description="texts in the window that was tested")
    observed_total: int
    p_value: float = Field(description="family-wise false-alarm rate per check (drift.p_value)")
    detector_alpha: float = Field(description="each detector alarms below this p-value (Bonferroni)")
    detectors: dict[str, DetectorStatus] = Field(default_factory=dict)


class RetrainStatus(BaseModel):
    """The last retrain (from `<drift.retrain.state_dir>/state.json`) and whether one is running now."""

    status: Literal["running", "promoted", "rejected", "unchanged", "failed"] | None = Field(
        None, description="null: no retrain has run yet")
    reason: str | None = None
    message: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    last_success_at: float | None = None
    run_id: str | None = Field(None, description="the retrain's MLflow run")
    model_version: str | None = Field(None, description="the version the retrain registered")
    decision: str | None = Field(None, description="the promotion gate's decision on that version")
    running: bool | None = Field(False, description="a retrain holds the lock now; null: unknown (see lock_error)")
    holder: str | None = Field(None, description="who holds the retrain lock, while one runs")
    lock_error: str | None = Field(None, description="why the lock could not be probed (its database is down)")


class AlarmInfo(BaseModel):
    """A drift alarm event from the journal, and what became of it."""

    id: int
    created_at: float = Field(description="unix time")
    model_version: str | None
    status: Literal["pending", "consumed", "suppressed"] = Field(
        description="pending until a retrain consumes it; suppressed by the cooldown (or drift.retrain.on_drift off)")
    decided_at: float | None = None
    decided_by: str | None = Field(None, description="the retrain that consumed it, or why it was suppressed")
    run_id: str | None = Field(None, description="the consuming retrain's MLflow run")
    failing: list[str] = Field(default_factory=list, description="the detectors that alarmed")


class DriftResponse(BaseModel):
    """GET /v1/drift: whether live traffic still looks like the served model's training data."""

    enabled: bool = Field(description="drift.enabled")
    model_version: str | None = Field(None, description="the served version the window belongs to")
    monitoring: bool = Field(description="a drift reference is loaded and texts are being compared with it")
    detail: str | None = Field(None, description="why nothing is monitored (drift disabled, bundle without reference)")
    alarm: bool = Field(description="the last check alarmed")
    window: int = Field(description="texts in the window now (at most drift.window)")
    observed: int = Field(description="texts observed since this version was loaded")
    report: DriftCheck | None = Field(None, description="the last check; null before the first one")
    retrain: RetrainStatus
    pending_alarms: int | None = Field(None, description="drift alarms no retrain consumed yet; null: journal unreadable")
    last_alarm: AlarmInfo | None = Field(None, description="the newest drift alarm event, whatever became of it")
    errors: int = Field(0, description="monitor failures since start (none fails a prediction; sftops_drift_errors_total)")
    last_error: str | None = Field(None, description="the last monitor failure")
