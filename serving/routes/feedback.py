"""POST /v1/feedback: a user's label for a text, or an NER model's corrected entities, stored for retraining.

Needs the feedback or admin token. What the served model answers decides what it takes: a
classifier one of its labels, an NER model the text's entities (checked by sftops.feedback).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from starlette.concurrency import run_in_threadpool

from sftops.exceptions import DataError
from sftops.feedback import EntityLabel, check_entities, entities_label

from ..auth import require_feedback
from ..schemas import ErrorResponse, FeedbackRequest, FeedbackResponse
from ..state import StateDep

router = APIRouter(prefix="/v1", tags=["feedback"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "missing or wrong token"},
    403: {"model": ErrorResponse, "description": "feedback disabled: no feedback or admin token configured"},
    422: {"model": ErrorResponse, "description": "unknown label, blank text or control characters; for an NER model, "
          "entities outside the text, of an unknown type, overlapping, or holding no word; a label for an NER model, "
          "or entities for a classifier"},
}


@router.post("/feedback", response_model=FeedbackResponse, responses=_ERRORS, dependencies=[Depends(require_feedback)])
async def feedback(body: FeedbackRequest, state: StateDep) -> FeedbackResponse:
    """Store (text, label) or (text, entities) for the served model; answers the row id.

    A label must be one of a classifier's labels. Entities (an NER model's) are character spans of the text,
    each of one of the model's entity types, not overlapping, each covering at least one word; they are stored
    snapped to whole words (the training data tags words), and `[]` says the text holds no entity."""
    model = state.model()
    runtime = model.runtime
    if runtime.task == "token_classification":
        if body.entities is None:
            raise HTTPException(422, 'this model tags entities: send "entities": [{"start", "end", "type"}, ...] '
                                     '([] when the text holds none) instead of "label"')
        try:
            entities = check_entities(body.text, [EntityLabel(e.start, e.end, e.type) for e in body.entities],
                                      runtime.entity_types)
        except DataError as exc:
            raise HTTPException(422, str(exc)) from None
        label = entities_label(entities)
    else:
        if body.label is None:
            raise HTTPException(422, f'this model classifies whole texts: send "label" (one of {runtime.labels}) '
                                     'instead of "entities"')
        if body.label not in runtime.labels:
            raise HTTPException(422, f"label {body.label!r} is not one of the model's labels {runtime.labels}")
        label = body.label
    row_id, stored = await run_in_threadpool(state.feedback.put, body.text, label, model.info.version)
    return FeedbackResponse(id=row_id, stored=stored)
