"""The `tune` stage: an Optuna study over params.tune.search_space -> models/best_params.json.

Several processes (or machines) pointed at one PostgreSQL tune.storage share the study."""

from __future__ import annotations

from pathlib import Path

from ..config import Params
from ..paths import BEST_PARAMS_FILE
from ._report import TuneReport
from ._runner import StageContext, run_stage


def tune(project: str | Path = ".", params: Params | None = None) -> TuneReport:
    """Run this worker's share of the study on the prepared splits; write models/best_params.json.

    Raises:
        ConfigError: no project folder / params.yaml, invalid params or search space.
        DataError: no prepared data (run `prepare` first).
        ModelError: model.base is not a usable model.
        TrackingError: the tracking store is unreachable (checked before any trial).
        ConfigError: started under torchrun (WORLD_SIZE > 1)."""
    from ..training import refuse_multiprocess

    refuse_multiprocess("tune")  # trials are single-process; parallel tuning = several workers on one storage
    return run_stage("tune", project, params, _tune)


def _tune(ctx: StageContext) -> TuneReport:
    from ..data import load_prepared
    from ..tuning import run_tune

    best = run_tune(ctx.params, load_prepared(), BEST_PARAMS_FILE)
    metrics = {"best_value": best.value, "n_complete": best.n_complete, "n_pruned": best.n_pruned,
               "n_failed": best.n_failed}
    return TuneReport(**ctx.common(ctx.outputs(best_params=BEST_PARAMS_FILE), metrics, (best.mlflow_run_id,)),
                      best_params=dict(best.params), best_value=best.value, study_name=best.study_name)
