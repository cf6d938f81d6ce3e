"""Optuna search over the params' search space, each trial a nested MLflow run; writes best_params.json."""

from ._pruning import PruningCallback
from ._run import run_tune
from ._space import suggest

__all__ = ["PruningCallback", "run_tune", "suggest"]
