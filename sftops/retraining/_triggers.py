"""Which retraining triggers fire now: a drift alarm, the schedule, or enough new labelled feedback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import RetrainConfig
from ._state import RetrainState


@dataclass(frozen=True)
class Trigger:
    """One reason to retrain, with what made it fire (kept on the retrain's MLflow run)."""

    reason: str  # drift | schedule | feedback | manual
    detail: dict[str, Any]


def due_triggers(
    cfg: RetrainConfig,
    state: RetrainState,
    *,
    now: float,
    new_feedback: int,
    drift_status: dict[str, Any] | None,
) -> list[Trigger]:
    """Every enabled trigger that fires, or none while the last attempt is within `cooldown_s`."""
    last_attempt = state.started_at or 0.0
    if state.started_at is not None and now - last_attempt < cfg.cooldown_s:
        return []
    fired: list[Trigger] = []
    if (
        cfg.on_drift
        and drift_status is not None
        and drift_status.get("alarm")
        and float(drift_status.get("evaluated_at", 0.0)) > last_attempt
    ):
        scores = {k: {"score": v.get("score"), "p_value": v.get("p_value"), "alarm": v.get("alarm")}
                  for k, v in (drift_status.get("detectors") or {}).items()}
        fired.append(Trigger("drift", {"evaluated_at": drift_status.get("evaluated_at"),
                                       "window_size": drift_status.get("window_size"), "detectors": scores}))
    if cfg.schedule_s is not None and now - (state.last_success_at or 0.0) >= cfg.schedule_s:
        fired.append(Trigger("schedule", {"last_success_at": state.last_success_at, "schedule_s": cfg.schedule_s}))
    if cfg.min_feedback is not None and new_feedback >= cfg.min_feedback:
        fired.append(Trigger("feedback", {"new_feedback": new_feedback, "min_feedback": cfg.min_feedback}))
    return fired
