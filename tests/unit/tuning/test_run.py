"""sftops.tuning: pruning, search-space sampling and validation, exact budgets, the stage's outputs."""

from __future__ import annotations

import json

import optuna
import pytest

from sftops.config import parse_params
from sftops.data.prepared import load_prepared
from sftops.exceptions import ConfigError
from sftops.tracking import connect
from sftops.tuning import PruningCallback, run_tune, suggest


def test_a_trial_reporting_bad_values_is_pruned():
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    good = study.ask()
    for step, value in enumerate([0.5, 0.7, 0.9], start=1):
        good.report(value, step)
    study.tell(good, 0.9)

    bad = study.ask()
    callback = PruningCallback(bad)
    callback.on_evaluate(None, None, None, metrics={"eval_macro_f1": 0.6})  # above 0.5: keeps going
    with pytest.raises(optuna.TrialPruned):
        callback.on_evaluate(None, None, None, metrics={"eval_macro_f1": 0.2})  # below the median 0.7
    assert callback.reports == 2 and callback.last_value == 0.2


def test_conditional_keys_follow_the_sampled_strategy():
    space = parse_params({"tune": {"search_space": {
        "model.strategy": {"type": "categorical", "choices": ["full", "lora"]},
        "model.lora.r": {"type": "int", "low": 2, "high": 8},
        "model.freeze_layers": {"type": "int", "low": 0, "high": 2},
    }}}).tune.search_space
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = []
    for _ in range(12):
        values = suggest(study.ask(), space, "full")
        seen.append(values["model.strategy"])
        assert ("model.lora.r" in values) == (values["model.strategy"] == "lora")
        assert "model.freeze_layers" not in values
    assert set(seen) == {"full", "lora"}


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"train.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-4}}, "empty range"),
        ({"train.batch_size": {"type": "int", "low": 32, "high": 8}}, "empty range"),
        ({"learning_rate": {"type": "float", "low": 1e-5, "high": 1e-4}}, "'learning_rate' is not a tunable key"),
        ({"model.strategy": {"type": "categorical", "choices": ["full", "prompt"]}}, "value 'prompt' is not allowed"),
        ({"train.learning_rate": {"type": "float", "low": 0.0, "high": 1e-4, "log": True}}, "log-scale range needs low > 0"),
    ],
)
def test_bad_search_spaces_fail_when_params_are_parsed(space, message):
    with pytest.raises(ConfigError, match=message):
        parse_params({"tune": {"search_space": space}})


def test_tune_runs_exactly_n_trials_and_writes_best_params(make_params, prepared_dir, tmp_path):
    params = make_params(
        train={"epochs": 1},
        tune={"storage": f"sqlite:///{tmp_path / 'optuna.db'}", "n_trials": 3, "pruner": "none",
              "search_space": {"train.learning_rate": {"type": "float", "low": 1e-3, "high": 2e-2, "log": True}}},
    )
    connect(params.tracking)
    data = load_prepared(prepared_dir)
    out = tmp_path / "best_params.json"
    best = run_tune(params, data, out)
    study = optuna.load_study(study_name=best.study_name, storage=params.tune.storage)
    assert len(study.trials) == 3 and best.n_complete == 3
    assert best.value == pytest.approx(study.best_value)
    assert json.loads(out.read_text())["params"] == study.best_params

    again = run_tune(params, data, out)  # same params and data: the finished study is reused, nothing reruns
    assert again.study_name == best.study_name and len(optuna.load_study(
        study_name=best.study_name, storage=params.tune.storage).trials) == 3


def test_disabled_tuning_writes_empty_best_params(make_params, prepared_dir, tmp_path):
    params = make_params(tune={"enabled": False})
    best = run_tune(params, load_prepared(prepared_dir), tmp_path / "best.json")
    assert best.params == {} and best.value is None and (tmp_path / "best.json").is_file()


def test_tune_on_token_classification_scores_entity_f1_on_a_random_subsample(make_params, tmp_path):
    import mlflow

    from sftops.testing.ner_data import as_token_classification, prepared_ner

    params = as_token_classification(make_params(
        model={"max_length": 16},
        train={"epochs": 2},
        tune={"storage": f"sqlite:///{tmp_path / 'optuna.db'}", "n_trials": 2, "pruner": "none",
              "max_train_samples": 50, "max_eval_samples": 15,
              "search_space": {"train.learning_rate": {"type": "float", "low": 5e-3, "high": 2e-2, "log": True}}},
    ))
    connect(params.tracking)
    best = run_tune(params, prepared_ner(60, 20, 10), tmp_path / "best_params.json")
    assert best.metric == "eval_entity_f1" and best.n_complete == 2 and best.n_failed == 0
    study = optuna.load_study(study_name=best.study_name, storage=params.tune.storage)
    assert best.value == pytest.approx(study.best_value) and 0.3 < best.value <= 1.0
    # 50 of the 60 sentences, batches of 16: 4 steps an epoch, evaluated every 2 (evals_per_epoch 2)
    trial = study.best_trial
    assert len(trial.intermediate_values) == 4 and max(trial.intermediate_values.values()) == best.value
    children = mlflow.search_runs(filter_string=f"tags.optuna.trial_number = '{trial.number}'", output_format="list")
    history = mlflow.MlflowClient().get_metric_history(children[0].info.run_id, "eval_entity_f1")
    assert [m.value for m in history] == list(trial.intermediate_values.values())
