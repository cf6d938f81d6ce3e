"""Dataset tracking and the experiment kind, against the real `mlflow server` of the session."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from sftops.config import TrackingConfig
from sftops.data.labels import LabelMap
from sftops.data.prepared import PreparedData
from sftops.tracking import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, connect, experiment_url, log_splits


@pytest.fixture
def server(mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server_url)  # it wins over tracking.uri
    return mlflow_server_url


def _data() -> PreparedData:
    def frame(n: int) -> pd.DataFrame:
        return pd.DataFrame({"text": [f"text {i}" for i in range(n)], "label": [i % 2 for i in range(n)],
                             "label_name": [("neg", "pos")[i % 2] for i in range(n)]})

    return PreparedData(frame(6), frame(3), frame(4), LabelMap(("neg", "pos")), {"fingerprint": "f" * 64})


def test_splits_are_the_runs_datasets_with_digest_context_and_schema(server: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\nstages:\n  prepare:\n    outs:\n"
                                       "    - path: data/prepared\n      md5: 0123456789abcdef0123456789abcdef.dir\n")
    connect(TrackingConfig(uri=server, experiment="datasets-dvc"))
    with mlflow.start_run() as run:
        log_splits(run.info.run_id, _data(), ("train", "test"))
    inputs = MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
    by_context = {i.tags[0].value: i.dataset for i in inputs}
    assert set(by_context) == {"train", "test"}
    train = by_context["train"]
    assert (train.name, train.digest) == ("data/prepared/train", "0123456789abcdef0123456789abcdef.dir")
    assert "data/prepared/train.parquet" in train.source and '"num_rows": 6' in train.profile
    assert [c["name"] for c in json.loads(train.schema)["mlflow_colspec"]] == ["text", "label", "label_name"]
    found = mlflow.search_runs(experiment_names=["datasets-dvc"], filter_string="dataset.digest = '0123456789abcdef0123456789abcdef.dir'")
    assert list(found["run_id"]) == [run.info.run_id]


def test_without_dvc_lock_the_digest_is_the_prepared_fingerprint(server: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    connect(TrackingConfig(uri=server, experiment="datasets-fingerprint"))
    with mlflow.start_run() as run:
        log_splits(run.info.run_id, _data(), ("validation",))
    (only,) = MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
    assert only.dataset.digest == "f" * 36 and only.tags[0].value == "validation"


def test_connect_marks_the_experiment_for_model_training_but_keeps_a_users_choice(server: str) -> None:
    connect(TrackingConfig(uri=server, experiment="kind-fresh"))
    client = MlflowClient(server)
    assert client.get_experiment_by_name("kind-fresh").tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    chosen = client.create_experiment("kind-chosen", tags={EXPERIMENT_KIND_TAG: "genai_development"})
    connect(TrackingConfig(uri=server, experiment="kind-chosen"))
    assert client.get_experiment(chosen).tags[EXPERIMENT_KIND_TAG] == "genai_development"
    assert experiment_url("http://u:secret@host:5000/", chosen) == (
        f"http://u:***@host:5000/#/experiments/{chosen}?workflowType=machine_learning")
