"""Retraining triggers: enough new feedback, the schedule, pending drift alarm events, and the cooldown between attempts."""

from __future__ import annotations

from sftops.config import RetrainConfig
from sftops.retraining import Alarm, RetrainState, cooldown_left, due_triggers

NOW = 1_000_000.0


def _alarm(alarm_id: int, p_value: float = 0.001, at: float = NOW - 10) -> Alarm:
    report = {"alarm": True, "evaluated_at": at, "window_size": 500,
              "detectors": {"embedding": {"score": 0.02, "p_value": p_value, "alarm": True},
                            "length": {"score": 0.1, "p_value": 0.5, "alarm": False}}}
    return Alarm(alarm_id, at, "3", report, "pending", None, None, None)


def _reasons(cfg: RetrainConfig, state: RetrainState | None = None, **kw) -> list[str]:
    kw = {"now": NOW, "new_feedback": 0} | kw
    return [t.reason for t in due_triggers(cfg, state or RetrainState(), **kw)]


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


def test_pending_alarms_fire_one_drift_trigger_naming_them_all_with_the_newest_report() -> None:
    cfg = RetrainConfig(min_feedback=None, cooldown_s=0)
    fired = due_triggers(cfg, RetrainState(), now=NOW, new_feedback=0, alarms=[_alarm(4, 0.003), _alarm(9, 0.001)])
    assert [t.reason for t in fired] == ["drift"]
    assert fired[0].detail["alarms"] == [4, 9] and fired[0].detail["model_version"] == "3"
    assert fired[0].detail["detectors"]["embedding"]["p_value"] == 0.001  # the newest alarm's scores
    assert _reasons(cfg, alarms=[]) == []
    # an event stays a trigger however old: a pending alarm is not "handled" by an attempt that did not consume it
    assert _reasons(cfg, RetrainState(started_at=NOW - 5), alarms=[_alarm(1, at=NOW - 50)]) == ["drift"]
    assert _reasons(RetrainConfig(on_drift=False, min_feedback=None), alarms=[_alarm(1)]) == []


def test_cooldown_silences_every_trigger_after_an_attempt() -> None:
    cfg = RetrainConfig(min_feedback=5, schedule_s=1, cooldown_s=600)
    recent = RetrainState(started_at=NOW - 599)
    assert _reasons(cfg, recent, new_feedback=100, alarms=[_alarm(1)]) == []
    assert cooldown_left(cfg, recent, NOW) == 1.0
    later = RetrainState(started_at=NOW - 600)
    assert cooldown_left(cfg, later, NOW) == 0.0 and cooldown_left(cfg, RetrainState(), NOW) == 0.0
    assert _reasons(cfg, later, new_feedback=100, alarms=[_alarm(1)]) == ["drift", "schedule", "feedback"]
