"""The study's MLflow run tree: one parent run shared by every worker, a child run per trial."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import mlflow
import optuna
from mlflow import MlflowClient

from ..config import Params
from ..dburl import scrub
from ..exceptions import TrackingError
from ..tracking import flat_params, lineage_tags, log_params_batch, log_splits

if TYPE_CHECKING:
    from ..data.prepared import PreparedData

log = logging.getLogger(__name__)

PARENT_ATTR = "mlflow_parent_run_id"
TRIAL_STATE_TAG = "sftops.trial_state"


TUNE_SPLITS = ("train", "validation")  # what a trial trains and is scored on


def parent_run(study: optuna.Study, created: bool, params: Params, storage_label: str, wait_s: float = 120.0,
               data: PreparedData | None = None) -> str:
    """The study's parent run id: made by the worker that created the study, looked up by the others.

    With `data`, a new parent run logs the splits the trials use as its dataset inputs."""
    client = MlflowClient()
    if created or PARENT_ATTR in study.user_attrs:
        run_id = study.user_attrs.get(PARENT_ATTR)
        if run_id is None:
            experiment = mlflow.get_experiment_by_name(params.tracking.experiment)
            if experiment is None:
                raise TrackingError(f"MLflow experiment {params.tracking.experiment!r} does not exist; "
                                    "connect to tracking first (sftops.tracking.connect creates it)")
            tags = {
                **lineage_tags(params),
                "sftops.stage": "tune",
                "optuna.study_name": study.study_name,
                "optuna.storage": storage_label,
            }
            run = client.create_run(experiment.experiment_id, run_name=f"tune {study.study_name}", tags=tags)
            run_id = run.info.run_id
            log_params_batch(run_id, flat_params(params, ("model", "train", "tune")))
            if data is not None:
                log_splits(run_id, data, TUNE_SPLITS)
            study.set_user_attr(PARENT_ATTR, run_id)
    else:
        deadline = time.monotonic() + wait_s
        while PARENT_ATTR not in study.user_attrs:
            if time.monotonic() > deadline:
                raise TrackingError(f"study {study.study_name}: the worker that created it never recorded its MLflow run")
            time.sleep(1.0)
        run_id = study.user_attrs[PARENT_ATTR]
    try:
        client.get_run(run_id)
    except Exception:
        raise TrackingError(
            f"study {study.study_name}'s parent run {run_id} is not in this MLflow store; "
            "point every tune worker at the same tracking server (tracking.uri / MLFLOW_TRACKING_URI)"
        ) from None
    return run_id


def start_trial_run(parent_id: str, trial: optuna.Trial, params: Params, sampled: dict[str, object],
                    data: PreparedData | None = None) -> str:
    """A child run of the study's run for one trial, with the trial's params (and `data`'s splits as its datasets)."""
    client = MlflowClient()
    experiment_id = client.get_run(parent_id).info.experiment_id
    tags = {
        **lineage_tags(params),
        "mlflow.parentRunId": parent_id,
        "sftops.stage": "tune",
        "optuna.study_name": trial.study.study_name,
        "optuna.trial_number": str(trial.number),
        TRIAL_STATE_TAG: "running",
    }
    run = client.create_run(experiment_id, run_name=f"trial {trial.number}", tags=tags)
    values = {**flat_params(params, ("model", "train")), **{f"trial.{k}": v for k, v in sampled.items()}}
    log_params_batch(run.info.run_id, values)
    if data is not None:
        log_splits(run.info.run_id, data, TUNE_SPLITS)
    return run.info.run_id


def end_trial_run(run_id: str, state: str, value: float | None, reason: str | None = None) -> None:
    """Record a trial's final state (completed, pruned, failed) and value on its child run."""
    client = MlflowClient()
    client.set_tag(run_id, TRIAL_STATE_TAG, state)
    if reason:
        client.set_tag(run_id, "sftops.trial_reason", scrub(reason)[:5000])
    if value is not None:
        client.log_metric(run_id, "objective_value", value)
    status = {"completed": "FINISHED", "pruned": "KILLED", "failed": "FAILED"}[state]
    client.set_terminated(run_id, status=status)
