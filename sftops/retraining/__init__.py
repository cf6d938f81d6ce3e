"""Closing the loop: retraining triggers, a cross-process lock, and the retrain that reruns the pipeline."""

from ._background import spawn_retrain
from ._feedback import MergedFeedback, count_new_feedback, merge_feedback
from ._lock import RetrainBusy, RetrainLock, holder, is_locked
from ._run import RetrainResult, retrain
from ._state import RetrainState, load_drift_status, load_state, save_drift_status, save_state
from ._status import retrain_status
from ._triggers import Trigger, due_triggers

__all__ = [
    "MergedFeedback",
    "RetrainBusy",
    "RetrainLock",
    "RetrainResult",
    "RetrainState",
    "Trigger",
    "count_new_feedback",
    "due_triggers",
    "holder",
    "is_locked",
    "load_drift_status",
    "load_state",
    "merge_feedback",
    "retrain",
    "retrain_status",
    "save_drift_status",
    "save_state",
    "spawn_retrain",
]
