"""Closing the loop: retraining triggers, the drift alarm journal, a cross-process lock, and the retrain that reruns the pipeline."""

from ._alarms import Alarm, AlarmJournal, AlarmJournalError, open_journal
from ._background import child_env, set_private_env, spawn_retrain
from ._feedback import MergedFeedback, count_new_feedback, merge_feedback
from ._lock import RetrainBusy, RetrainLock, holder, is_locked, lock_target
from ._pglock import LockDatabaseError, PgAdvisoryLock
from ._run import RetrainLockLost, RetrainResult, retrain
from ._state import RetrainState, load_drift_status, load_state, save_drift_status, save_state
from ._status import retrain_status
from ._triggers import RetrainTrigger, cooldown_left, due_triggers

__all__ = [
    "Alarm",
    "AlarmJournal",
    "AlarmJournalError",
    "LockDatabaseError",
    "MergedFeedback",
    "PgAdvisoryLock",
    "RetrainBusy",
    "RetrainLock",
    "RetrainLockLost",
    "RetrainResult",
    "RetrainState",
    "RetrainTrigger",
    "child_env",
    "cooldown_left",
    "count_new_feedback",
    "due_triggers",
    "holder",
    "is_locked",
    "load_drift_status",
    "load_state",
    "lock_target",
    "merge_feedback",
    "open_journal",
    "retrain",
    "retrain_status",
    "save_drift_status",
    "save_state",
    "set_private_env",
    "spawn_retrain",
]
