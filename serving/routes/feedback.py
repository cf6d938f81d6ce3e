"""POST /v1/feedback: a user's label for a text, stored for retraining."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from ..schemas import ErrorResponse, FeedbackRequest, FeedbackResponse
from ..state import StateDep

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post("/feedback", response_model=FeedbackResponse, responses={422: {"model": ErrorResponse}})
async def feedback(body: FeedbackRequest, state: StateDep) -> FeedbackResponse:
    """Store (text, label); the label must be one of the served model's labels."""
    model = state.model()
    labels = model.runtime.labels
    if body.label not in labels:
        raise HTTPException(422, f"label {body.label!r} is not one of the model's labels {labels}")
    stored = await run_in_threadpool(state.feedback.add, body.text, body.label, model.info.version)
    return FeedbackResponse(stored=stored)
