"""Exactly `n_trials` finished trials per study, however many workers share it.

A trial counts once it is complete, pruned, running or waiting (a retry of a
failed trial). A worker stops asking when the count reaches the budget; if two
workers ask at the same instant, the trial with the higher number sees the other
and steps aside as a failed "surplus" trial that never trains.
"""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


class SurplusTrial(Exception):
    """This trial would exceed n_trials; it is recorded as failed and nothing is trained."""


def counted(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=COUNTED))


def finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def is_surplus(study: optuna.Study, trial: optuna.Trial, n_trials: int | None) -> bool:
    """True if `n_trials` lower-numbered trials already hold the budget."""
    if n_trials is None:
        return False
    ahead = [t for t in study.get_trials(deepcopy=False, states=COUNTED) if t.number < trial.number]
    return len(ahead) >= n_trials


def waiting(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def running(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


class StopAtBudget:
    """Study callback: stop this worker once the study's budget is taken."""

    def __init__(self, n_trials: int | None) -> None:
        self.n_trials = n_trials

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.n_trials is not None and counted(study) >= self.n_trials and not waiting(study):
            study.stop()
