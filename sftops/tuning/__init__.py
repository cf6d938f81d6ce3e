"""Optuna search over the params' search space, each trial a nested MLflow run; writes best_params.json."""

from ._pruning import PruningCallback
from ._run import run_tune
from ._space import suggest
from ._study import open_study, study_name_for

__all__ = ["PruningCallback", "open_study", "run_tune", "study_name_for", "suggest"]
