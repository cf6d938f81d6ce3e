"""The tune stage: run this worker's share of the study, then record the best params."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import optuna
from mlflow import MlflowClient

from ..config import Params
from ..console import progress_bar
from ..data.prepared import PreparedData
from ..dburl import redact
from ..modeling import check_base
from ..paths import BEST_PARAMS_FILE
from ..training import BestParams, MlflowStepLogger, apply_overrides, fine_tune, subsample
from ._budget import StopAtBudget, SurplusTrial, counted, is_surplus, running, waiting
from ._plots import save_study_plots
from ._pruning import PruningCallback
from ._space import suggest
from ._study import open_study, study_name_for
from ._tracking import end_trial_run, parent_run, start_trial_run

log = logging.getLogger(__name__)


def _objective(params: Params, data: PreparedData, parent_id: str):
    cfg = params.tune
    stratify = "label" if params.task == "classification" else None  # no stratifying on a column of tag lists
    train = subsample(data.train, cfg.max_train_samples, params.train.seed, stratify=stratify)
    validation = subsample(data.validation, cfg.max_eval_samples, params.train.seed, stratify=stratify)

    def objective(trial: optuna.Trial) -> float:
        if is_surplus(trial.study, trial, cfg.n_trials):
            trial.set_user_attr("sftops.surplus", True)
            trial.study.stop()
            raise SurplusTrial(f"trial {trial.number} is beyond n_trials={cfg.n_trials}")
        sampled = suggest(trial, cfg.search_space, params.model.strategy)
        trial_params = apply_overrides(params, sampled, source=f"trial {trial.number}")
        # patience counts epochs in params.yaml; a trial evaluates evals_per_epoch times per epoch
        patience = trial_params.train.early_stopping_patience * cfg.evals_per_epoch
        trial_params = apply_overrides(trial_params, {"train.early_stopping_patience": patience})
        batch = trial_params.train.batch_size * trial_params.train.gradient_accumulation_steps
        eval_steps = max(1, -(-len(train) // batch) // cfg.evals_per_epoch)
        run_id = start_trial_run(parent_id, trial, trial_params, sampled, data=data)
        pruning = PruningCallback(trial, cfg.metric)
        try:
            result = fine_tune(
                trial_params, data.label_map, train, validation,
                callbacks=[MlflowStepLogger(run_id), pruning],
                eval_steps=eval_steps, keep_best=False, show_progress=False,  # the trials bar is the bar
            )
        except optuna.TrialPruned as exc:
            end_trial_run(run_id, "pruned", pruning.last_value, str(exc))
            raise
        except BaseException as exc:
            end_trial_run(run_id, "failed", None, f"{type(exc).__name__}: {exc}")
            raise
        value = result.best_metric if result.best_metric is not None else 0.0
        end_trial_run(run_id, "completed", value)
        return value

    return objective


def _optimize(study: optuna.Study, objective, cfg) -> None:
    """Run trials until the budget (or timeout) is taken, then wait for other workers' trials to end."""
    deadline = time.monotonic() + cfg.timeout if cfg.timeout else None
    stop = StopAtBudget(cfg.n_trials)
    with progress_bar(cfg.n_trials, desc="tune trials", unit="trial") as bar:
        def advance(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            if trial.user_attrs.get("sftops.surplus"):
                return
            best = _best_value(study)
            bar.update(1, **({"best": best} if best is not None else {}), last=trial.state.name.lower())

        while True:
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial is failed and re-queued
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            budget_open = cfg.n_trials is None or counted(study) < cfg.n_trials or waiting(study)
            if budget_open:
                study.optimize(objective, timeout=left, callbacks=[stop, advance], catch=(SurplusTrial,))
                continue
            if not running(study):
                break
            time.sleep(min(5.0, cfg.heartbeat_interval / 2))


def _best_value(study: optuna.Study) -> float | None:
    """The study's best value so far (all workers), None before any trial completed."""
    try:
        return study.best_value
    except ValueError:
        return None


def _finalize(study: optuna.Study, params: Params, parent_id: str) -> BestParams:
    from optuna.trial import TrialState

    client = MlflowClient()
    states = [t.state for t in study.get_trials(deepcopy=False)]
    # a COMPLETE trial always has a value
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    best = max(complete, key=lambda t: float(t.value or 0.0)) if complete else None
    result = BestParams(
        params=dict(best.params) if best else {},
        value=best.value if best else None,
        metric=params.tune.metric,
        study_name=study.study_name,
        best_trial=best.number if best else None,
        n_complete=states.count(TrialState.COMPLETE),
        n_pruned=states.count(TrialState.PRUNED),
        n_failed=sum(1 for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
                     if not t.user_attrs.get("sftops.surplus")),
        mlflow_run_id=parent_id,
    )
    if best and best.value is not None:
        client.log_metric(parent_id, f"best_{params.tune.metric}", best.value)
        client.set_tag(parent_id, "sftops.best_trial", str(best.number))
        for key, value in best.params.items():
            client.set_tag(parent_id, f"best.{key}", str(value))  # tags: every worker may write them again
    for name in ("n_complete", "n_pruned", "n_failed"):
        client.log_metric(parent_id, name, getattr(result, name))
    with tempfile.TemporaryDirectory() as tmp:
        save_study_plots(study, Path(tmp) / "optuna")
        result.save(Path(tmp) / "best_params.json")
        client.log_artifacts(parent_id, tmp)
    client.set_terminated(parent_id, "FINISHED")
    return result


def run_tune(params: Params, data: PreparedData, out_file: str | Path = BEST_PARAMS_FILE) -> BestParams:
    """Join or create the study, run trials up to the shared budget, write `out_file` (atomically).

    Logs to the MLflow experiment the caller connected to (`sftops.stages.tune` connects).

    Raises:
        ConfigError: an invalid search space or storage URL.
        DataError: the data was prepared for another task than params.task.
        ModelError: model.base is not a usable model.
        TrackingError: the study's parent run is not in this MLflow store (workers on different stores)."""
    cfg = params.tune
    name = study_name_for(params, data.meta.get("fingerprint"))
    if not cfg.enabled or not cfg.search_space:
        log.info("tuning skipped (%s); train will use params.yaml as it is",
                 "tune.enabled is false" if not cfg.enabled else "tune.search_space is empty")
        result = BestParams(params={}, value=None, metric=cfg.metric, study_name=name, best_trial=None,
                            n_complete=0, n_pruned=0, n_failed=0)
        result.save(out_file)
        return result
    data.check_task(params.task)
    check_base(params.model)
    study, created = open_study(params, name)
    parent_id = parent_run(study, created, params, redact(cfg.storage), data=data)
    log.info("Optuna study %s (%s); MLflow parent run %s", name, redact(cfg.storage), parent_id)
    _optimize(study, _objective(params, data, parent_id), cfg)
    result = _finalize(study, params, parent_id)
    result.save(out_file)
    log.info("best %s=%s (trial %s; %d complete, %d pruned) -> %s", cfg.metric, result.value, result.best_trial,
             result.n_complete, result.n_pruned, out_file)
    return result
