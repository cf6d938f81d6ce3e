"""The tune stage's run tree on a real `mlflow server`: parent, trial children, states, metrics, artifacts."""

from __future__ import annotations

import optuna
import pytest
from mlflow import MlflowClient

from sftops.data.prepared import load_prepared
from sftops.tracking import connect
from sftops.tuning import run_tune

# one learning rate learns the synthetic labels, the other cannot: the median pruner must stop the latter.
# TPE seed 11 samples them good, bad, bad, bad in its random start-up phase.
SPACE = {"train.learning_rate": {"type": "categorical", "choices": [1e-2, 1e-7]}}


def test_tune_run_tree_in_mlflow_server(make_params, prepared_dir, tmp_path, mlflow_server_url, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server_url)
    params = make_params(
        train={"epochs": 3},
        tune={"storage": f"sqlite:///{tmp_path / 'optuna.db'}", "n_trials": 4, "pruner": "median",
              "pruner_startup_trials": 1, "evals_per_epoch": 2, "sampler_seed": 11, "search_space": SPACE},
        tracking={"experiment": "tune-tree"},
    )
    connect(params.tracking)
    best = run_tune(params, load_prepared(prepared_dir), tmp_path / "best_params.json")
    study = optuna.load_study(study_name=best.study_name, storage=params.tune.storage)
    states = [t.state for t in study.trials]
    assert len(states) == 4 and best.n_complete + best.n_pruned == 4
    assert best.n_pruned >= 1
    assert best.params == {"train.learning_rate": 1e-2} and best.value > 0.4

    client = MlflowClient(mlflow_server_url)
    parent = client.get_run(best.mlflow_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["best.train.learning_rate"] == "0.01"
    assert parent.data.metrics["best_eval_macro_f1"] == pytest.approx(best.value)
    assert "sftops.git_commit" in parent.data.tags or "sftops.params_hash" in parent.data.tags
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "optuna")}
    assert {"optuna/optimization_history.png", "optuna/intermediate_values.png"} <= plots

    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert sorted(int(c.data.tags["optuna.trial_number"]) for c in children) == [0, 1, 2, 3]
    by_number = {int(c.data.tags["optuna.trial_number"]): c for c in children}
    for trial in study.trials:
        child = by_number[trial.number]
        expected = {optuna.trial.TrialState.COMPLETE: ("completed", "FINISHED"),
                    optuna.trial.TrialState.PRUNED: ("pruned", "KILLED")}[trial.state]
        assert (child.data.tags["sftops.trial_state"], child.info.status) == expected
        assert float(child.data.params["trial.train.learning_rate"]) == trial.params["train.learning_rate"]
        history = client.get_metric_history(child.info.run_id, "eval_macro_f1")
        # one logged point per pruner report, at increasing steps
        assert len(history) == len(trial.intermediate_values)
        assert [m.value for m in history] == pytest.approx(list(trial.intermediate_values.values()))
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert child.data.metrics["objective_value"] == pytest.approx(trial.value)
