"""Retraining triggers: enough new feedback, the schedule, a drift alarm, and the cooldown between attempts."""

from __future__ import annotations

from sftops.config import RetrainConfig
from sftops.retraining import RetrainState, due_triggers

NOW = 1_000_000.0
ALARM = {"alarm": True, "evaluated_at": NOW - 10, "window_size": 500,
         "detectors": {"embedding": {"score": 0.02, "p_value": 0.001, "alarm": True}}}


def _reasons(cfg: RetrainConfig, state: RetrainState = RetrainState(), **kw) -> list[str]:
    kw = {"now": NOW, "new_feedback": 0, "drift_status": None} | kw
    return [t.reason for t in due_triggers(cfg, state, **kw)]


def test_feedback_trigger_fires_at_exactly_min_feedback() -> None:
    cfg = RetrainConfig(min_feedback=50)
    assert _reasons(cfg, new_feedback=49) == []
    assert _reasons(cfg, new_feedback=50) == ["feedback"]
    assert _reasons(RetrainConfig(min_feedback=None), new_feedback=10_000) == []


def test_schedule_trigger_fires_once_the_interval_since_the_last_success_passed() -> None:
    cfg = RetrainConfig(schedule_s=3600, min_feedback=None, cooldown_s=0)
    state = RetrainState(started_at=NOW - 4000, last_success_at=NOW - 3599)
    assert _reasons(cfg, state) == []
    assert _reasons(cfg, state.model_copy(update={"last_success_at": NOW - 3600})) == ["schedule"]
    assert _reasons(RetrainConfig(min_feedback=None), state) == []  # schedule off by default


def test_drift_trigger_fires_on_an_alarm_newer_than_the_last_attempt() -> None:
    cfg = RetrainConfig(min_feedback=None, cooldown_s=0)
    fired = due_triggers(cfg, RetrainState(), now=NOW, new_feedback=0, drift_status=ALARM)
    assert [t.reason for t in fired] == ["drift"]
    assert fired[0].detail["detectors"]["embedding"]["p_value"] == 0.001
    assert _reasons(cfg, drift_status=ALARM | {"alarm": False}) == []
    already_handled = RetrainState(started_at=NOW - 5)  # this alarm was evaluated before the last attempt
    assert _reasons(cfg, already_handled, drift_status=ALARM) == []
    assert _reasons(RetrainConfig(on_drift=False, min_feedback=None), drift_status=ALARM) == []


def test_cooldown_silences_every_trigger_after_an_attempt() -> None:
    cfg = RetrainConfig(min_feedback=5, schedule_s=1, cooldown_s=600)
    recent = RetrainState(started_at=NOW - 599)
    assert _reasons(cfg, recent, new_feedback=100, drift_status=ALARM) == []
    later = RetrainState(started_at=NOW - 600)
    assert _reasons(cfg, later, new_feedback=100) == ["schedule", "feedback"]
