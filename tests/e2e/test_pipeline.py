"""The whole pipeline with the real MiniLM: `dvc repro` twice in a fresh git repo, on a real MLflow server.

Run 1 (tiny profile of the builtin tweets) goes source -> prepare -> tune -> train -> evaluate -> export ->
register and must end with version 1 as champion. Run 2 changes only the learning rate to a
useless value (1e-9: the head stays random), so its version 2 must lose the promotion gate
and version 1 stays champion, with both decisions in the audit trail.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from sftops.registry import audit_history
from sftops.testing.project import make_project_copy, run, update_params


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, mlflow_server_url: str) -> Path:
    repo = make_project_copy(tmp_path_factory.mktemp("pipeline") / "proj")
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    update_params(
        repo,
        data={"max_samples": {"train": 240, "validation": 60, "test": 150}},
        model={"max_length": 48},
        train={"learning_rate": 1e-4, "batch_size": 16, "epochs": 2, "warmup_ratio": 0.0},
        tune={"n_trials": 2, "max_train_samples": 120, "max_eval_samples": 60, "evals_per_epoch": 1,
              "pruner": "none", "search_space": {"train.learning_rate": {"type": "float", "low": 5e-5, "high": 2e-4, "log": True}}},
        tracking={"uri": mlflow_server_url, "experiment": name},
        registry={"model_name": name},
        export={"variants": ["int8"], "parity_samples": 64, "drift_samples": 200},
    )
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.email=t@sftops", "-c", "user.name=t", "commit", "-qm", "tiny profile"], repo)
    return repo


def test_first_repro_trains_evaluates_exports_and_registers_the_champion(repo: Path, mlflow_server_url: str) -> None:
    run(["dvc", "repro"], repo, timeout=900)

    evaluation = json.loads((repo / "metrics/eval.json").read_text())
    assert {"fine_tuned", "untuned", "tfidf_logreg"} <= set(evaluation)
    assert evaluation["fine_tuned"]["macro_f1"] > evaluation["untuned"]["macro_f1"] + 0.1
    assert (repo / "models/model/model.safetensors").is_file() and (repo / "models/model/label_map.json").is_file()
    manifest = json.loads((repo / "models/onnx/manifest.json").read_text())
    assert manifest["labels"] == ["negative", "neutral", "positive"]
    export_metrics = json.loads((repo / "metrics/export.json").read_text())
    assert export_metrics["parity.max_abs_diff"] <= 1e-3 and export_metrics["parity.argmax_agreement"] >= 0.999

    registration = json.loads((repo / "models/registration.json").read_text())
    assert (registration["version"], registration["decision"]) == ("1", "promoted")
    client = MlflowClient(mlflow_server_url)
    name = registration["name"]
    assert client.get_model_version_by_alias(name, "champion").version == "1"

    # the tune parent run holds one nested child per trial, each tagged with its state
    experiment = client.get_experiment_by_name(yaml.safe_load((repo / "params.yaml").read_text())["tracking"]["experiment"])
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    assert len(children) == 2 and {r.data.tags.get("sftops.trial_state") for r in children} == {"completed"}
    # every pipeline run carries lineage from the sftops run-context plugin
    assert all(r.data.tags.get("sftops.git_commit") for r in runs)

    # up to date but for `source`, which always runs (it fingerprints the raw data that prepare depends on)
    status = json.loads(run(["dvc", "status", "--json"], repo).stdout)
    assert status == {"source": ["always changed"]}, status
    assert set(yaml.safe_load((repo / "dvc.lock").read_text())["stages"]) == {
        "source", "prepare", "tune", "train", "evaluate", "export", "register"}


def test_second_repro_with_a_worse_model_keeps_the_champion(repo: Path, mlflow_server_url: str) -> None:
    update_params(repo, tune={"enabled": False}, train={"learning_rate": 1e-9})
    run(["dvc", "repro"], repo, timeout=900)

    registration = json.loads((repo / "models/registration.json").read_text())
    assert (registration["version"], registration["decision"]) == ("2", "rejected")
    assert registration["scores"]["1"] > registration["scores"]["2"]
    assert registration["test_overlap"] == {"2": 0, "1": 0}  # neither model trained on a test text
    client = MlflowClient(mlflow_server_url)
    name = registration["name"]
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert client.get_model_version_by_alias(name, "challenger").version == "2"
    history = audit_history(client, name)
    assert [(e.version, e.decision, e.trigger) for e in history] == [("1", "promoted", "pipeline"), ("2", "rejected", "pipeline")]
    assert history[1].scores.keys() == {"1", "2"} and history[1].champion_after == "1"
