"""Which retraining triggers fire now: pending drift alarms, the schedule, or enough new labelled feedback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config import RetrainConfig
from ._alarms import Alarm
from ._state import RetrainState


@dataclass(frozen=True)
class RetrainTrigger:
    """One reason to retrain, with what made it fire (kept on the retrain's MLflow run)."""

    reason: str  # drift | schedule | feedback | manual
    detail: dict[str, Any]


def cooldown_left(cfg: RetrainConfig, state: RetrainState, now: float) -> float:
    """Seconds until automatic triggers may fire again (0 when no cooldown holds); counted from the last attempt."""
    if state.started_at is None:
        return 0.0
    return max(0.0, cfg.cooldown_s - (now - state.started_at))


def drift_trigger(alarms: Sequence[Alarm]) -> RetrainTrigger:
    """The drift trigger for these alarms: their ids, and the newest one's report."""
    newest = alarms[-1]
    scores = {k: {"score": v.get("score"), "p_value": v.get("p_value"), "alarm": v.get("alarm")}
              for k, v in (newest.payload.get("detectors") or {}).items()}
    return RetrainTrigger("drift", {"alarms": [a.id for a in alarms], "model_version": newest.model_version,
                             "evaluated_at": newest.payload.get("evaluated_at"),
                             "window_size": newest.payload.get("window_size"), "detectors": scores})


def due_triggers(
    cfg: RetrainConfig,
    state: RetrainState,
    *,
    now: float,
    new_feedback: int,
    alarms: Sequence[Alarm] = (),
) -> list[RetrainTrigger]:
    """Every enabled trigger that fires, or none while the last attempt is within `cooldown_s`.

    `alarms` are the pending drift alarm events: each stays pending until a retrain consumes it,
    so one fires however many quiet checks came after it."""
    if cooldown_left(cfg, state, now) > 0:
        return []
    fired: list[RetrainTrigger] = []
    if cfg.on_drift and alarms:
        fired.append(drift_trigger(alarms))
    if cfg.schedule_s is not None and now - (state.last_success_at or 0.0) >= cfg.schedule_s:
        fired.append(RetrainTrigger("schedule", {"last_success_at": state.last_success_at, "schedule_s": cfg.schedule_s}))
    if cfg.min_feedback is not None and new_feedback >= cfg.min_feedback:
        fired.append(RetrainTrigger("feedback", {"new_feedback": new_feedback, "min_feedback": cfg.min_feedback}))
    return fired
