"""POST /v1/feedback: a user's label for a text, stored for retraining (needs the feedback or admin token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from starlette.concurrency import run_in_threadpool

from ..auth import require_feedback
from ..schemas import ErrorResponse, FeedbackRequest, FeedbackResponse
from ..state import StateDep

router = APIRouter(prefix="/v1", tags=["feedback"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "missing or wrong token"},
    403: {"model": ErrorResponse, "description": "feedback disabled: no feedback or admin token configured"},
    422: {"model": ErrorResponse, "description": "unknown label, blank text or control characters"},
}


@router.post("/feedback", response_model=FeedbackResponse, responses=_ERRORS, dependencies=[Depends(require_feedback)])
async def feedback(body: FeedbackRequest, state: StateDep) -> FeedbackResponse:
    """Store (text, label); the label must be one of the served model's labels. Answers the row id."""
    model = state.model()
    labels = model.runtime.labels
    if body.label not in labels:
        raise HTTPException(422, f"label {body.label!r} is not one of the model's labels {labels}")
    row_id, stored = await run_in_threadpool(state.feedback.put, body.text, body.label, model.info.version)
    return FeedbackResponse(id=row_id, stored=stored)
