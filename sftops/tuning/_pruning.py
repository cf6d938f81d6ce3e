"""Feed validation scores to an Optuna trial during training and stop the trial when the pruner says so."""

from __future__ import annotations

import optuna
from transformers import TrainerCallback


class PruningCallback(TrainerCallback):
    """Report `metric` after each evaluation as step 1, 2, ...; raise TrialPruned when pruned.

    Steps count evaluations (a fixed fraction of an epoch each), so trials with
    different batch sizes are compared after the same amount of data.
    """

    def __init__(self, trial: optuna.Trial, metric: str = "eval_macro_f1") -> None:
        self.trial = trial
        self.metric = metric
        self.reports = 0
        self.last_value: float | None = None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        value = (metrics or {}).get(self.metric)
        if value is None:
            return
        self.reports += 1
        self.last_value = float(value)
        self.trial.report(float(value), step=self.reports)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"{self.metric}={value:.4f} at evaluation {self.reports}")
