"""Admin endpoints (reload, drift check, retrain, feedback deletion), behind the admin bearer token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from starlette.concurrency import run_in_threadpool

from sftops.dburl import scrub
from sftops.exceptions import RegistryError, ServingError

from ..auth import require_admin
from ..schemas import (
    DriftResponse,
    ErrorResponse,
    FeedbackDeleteRequest,
    FeedbackDeleteResponse,
    ReloadResponse,
    RetrainRequest,
    RetrainStarted,
)
from ..state import StateDep

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 502: {"model": ErrorResponse,
    "description": "the registry did not answer or the new version could not be loaded"},
}
router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_admin)], responses=_ERRORS)


@router.post("/reload", response_model=ReloadResponse)
async def reload(state: StateDep) -> ReloadResponse:
    """Check the registry now; load, warm up and swap in a new version if the alias moved."""
    try:
        swapped = await run_in_threadpool(lambda: state.store.check(force=True))  # an admin asks: skip any backoff
    except (RegistryError, ServingError) as exc:
        raise HTTPException(502, f"reload failed, still serving the previous version: {scrub(str(exc))}") from None
    return ReloadResponse(swapped=swapped, version=state.store.current.info.version)


@router.post("/drift/check", response_model=DriftResponse, responses={409: {"model": ErrorResponse}})
async def check_drift(state: StateDep) -> DriftResponse:
    """Run the drift detectors on the current window now (an alarm starts a retrain as usual)."""
    if await run_in_threadpool(state.monitor.check_now) is None:
        status = await run_in_threadpool(state.monitor.status)
        if status.monitoring:  # a reference is loaded, so the detectors themselves failed
            raise HTTPException(409, f"the drift check failed: {status.last_error or 'see the server log'}")
        raise HTTPException(409, f"nothing to check: {status.detail or 'no drift reference loaded'}")
    return await run_in_threadpool(state.monitor.status)


@router.post("/retrain", status_code=202, response_model=RetrainStarted, responses={409: {"model": ErrorResponse}})
async def start_retrain(state: StateDep, body: RetrainRequest | None = None) -> RetrainStarted:
    """Start `sftops retrain --reason manual` in the background; the promotion gate still decides what serves."""
    force = body.force if body else False
    try:
        proc = state.monitor.start_retrain("manual", force=force)
    except ServingError as exc:
        raise HTTPException(409, str(exc)) from None
    return RetrainStarted(pid=proc.pid, log_file=str(state.monitor.retrain_log))


@router.post("/feedback/delete", response_model=FeedbackDeleteResponse)
async def delete_feedback(body: FeedbackDeleteRequest, state: StateDep) -> FeedbackDeleteResponse:
    """Delete feedback rows by id (as POST /v1/feedback answered) and/or by text; the next retrain leaves them out."""
    deleted = await run_in_threadpool(state.feedback.delete, ids=body.ids, texts=body.texts)
    return FeedbackDeleteResponse(deleted=deleted)
