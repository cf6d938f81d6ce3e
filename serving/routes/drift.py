"""GET /v1/drift: the drift monitor's last check on live traffic and the last retrain."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ..schemas import DriftResponse
from ..state import StateDep

router = APIRouter(prefix="/v1", tags=["drift"])


@router.get("/drift", response_model=DriftResponse)
async def drift(state: StateDep) -> DriftResponse:
    """Alarm state, each detector's score and p-value, the window, and the last retrain's outcome."""
    return await run_in_threadpool(state.monitor.status)  # may wait briefly for the one status refresh in flight
