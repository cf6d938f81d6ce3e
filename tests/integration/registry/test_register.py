"""The register stage against a real MLflow server: logging, lineage, the gate's three outcomes, registration.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from sftops.bundle import BUNDLE_ARTIFACT_PATH
from sftops.registry import AuditEntry, audit_history
from sftops_pipelines.register import main as register_main

NAME = "reg-scenario"


@pytest.fixture(scope="module")
def scenario(mlflow_server_url: str, tiny_project, project_params, register, reset_mlflow_globals) -> dict:
    """v1 = constant model (no champion: promoted), v2 = good model via the stage (wins), v3 = constant again (loses)."""
    root = tiny_project.root
    params = project_params(mlflow_server_url, NAME)
    paths = {"model_dir": root / "models/model", "eval_file": root / "metrics/eval.json",
             "prepared_dir": root / "data/prepared", "project_dir": root}
    params_file = root / "params-scenario.yaml"
    params_file.write_text(yaml.safe_dump(params.model_dump(mode="json")))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", mlflow_server_url)
        first = register(params, bundle_dir=tiny_project.constant_bundle, **paths)
        mp.chdir(root)
        assert register_main(["--params", str(params_file)]) == 0
        second = json.loads((root / "models/registration.json").read_text())
        mp.setenv("SFTOPS_TRIGGER", "retrain")
        mp.setenv("SFTOPS_ACTOR", "retrain-bot")
        third = register(params, bundle_dir=tiny_project.constant_bundle, **paths)
    reset_mlflow_globals()
    return {"first": first, "second": second, "third": third}


def test_first_version_becomes_champion_and_later_ones_only_if_they_win(scenario: dict, mlflow_server_url: str) -> None:
    first, second, third = scenario["first"], scenario["second"], scenario["third"]
    assert (first.version, first.decision, first.champion) == ("1", "promoted", "1")
    assert first.reason == "no champion yet"
    assert (second["version"], second["decision"], second["champion"]) == ("2", "promoted", "2")
    assert second["scores"] == {"2": 1.0, "1": pytest.approx(first.scores["1"])}
    assert (third.version, third.decision, third.champion) == ("3", "rejected", "2")
    assert "does not beat champion 1.0000" in third.reason
    model = MlflowClient(mlflow_server_url).get_registered_model(NAME)
    assert model.aliases == {"champion": "2", "challenger": "3"}


def test_version_points_at_the_run_holding_model_and_bundle(scenario: dict, mlflow_server_url: str) -> None:
    client = MlflowClient(mlflow_server_url)
    version = client.get_model_version(NAME, "2")
    assert version.run_id == scenario["second"]["run_id"]
    serving = {Path(f.path).name for f in client.list_artifacts(version.run_id, BUNDLE_ARTIFACT_PATH)}
    assert {"manifest.json", "model.onnx", "tokenizer.json", "label_map.json"} <= serving
    tags = version.tags
    assert tags["sftops.run_id"] == version.run_id
    assert tags["sftops.train_run_id"] == "train-run-1"
    assert tags["sftops.git_commit"] == "c" * 40
    assert tags["sftops.data_hash"] == "d" * 32
    assert tags["sftops.params_hash"] == "p" * 16
    assert float(tags["sftops.metric.test_macro_f1"]) == 0.8
    assert float(tags["sftops.metric.test_macro_f1_onnx"]) == 1.0
    assert tags["sftops.decision"] == "promoted"
    run = client.get_run(version.run_id)
    assert run.data.metrics["gate_test_macro_f1"] == 1.0
    assert run.data.params["registry.primary_metric"] == "macro_f1"


def test_registered_model_loads_back_with_pyfunc(scenario: dict, mlflow_server_url: str, tiny_project) -> None:
    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(mlflow_server_url)
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    test = pd.read_parquet(tiny_project.root / "data/prepared/test.parquet").head(20)
    out = model.predict(list(test["text"]))
    assert list(out["label"]) == list(test["label_name"])
    assert model.metadata.metadata["label_map"] == {"negative": 0, "neutral": 1, "positive": 2}
    assert model.metadata.signature.outputs.input_names() == ["label", "score"]


def test_every_gate_decision_is_in_the_audit_trail(scenario: dict, mlflow_server_url: str) -> None:
    client = MlflowClient(mlflow_server_url)
    history = audit_history(client, NAME)
    assert [(e.seq, e.action, e.version, e.decision) for e in history] == [
        (1, "gate", "1", "promoted"), (2, "gate", "2", "promoted"), (3, "gate", "3", "rejected")]
    rejected: AuditEntry = history[2]
    assert rejected.trigger == "retrain" and rejected.actor == "retrain-bot"
    assert (rejected.champion_before, rejected.champion_after) == ("2", "2")
    assert rejected.metric == "macro_f1" and rejected.min_improvement == 0.0
    assert rejected.scores == {"3": pytest.approx(scenario["first"].scores["1"]), "2": 1.0}
    assert rejected.test_samples == 90
    assert history[1].trigger == "pipeline" and history[1].champion_before == "1"
    version3 = client.get_model_version(NAME, "3").tags
    assert version3["sftops.decision"] == "rejected"
    assert version3["sftops.decision_trigger"] == "retrain"
    assert AuditEntry.model_validate_json(version3["sftops.audit.000003"]) == rejected


def _paths(root: Path) -> dict:
    return {"model_dir": root / "models/model", "eval_file": root / "metrics/eval.json",
            "prepared_dir": root / "data/prepared", "project_dir": root}


def test_corrupt_challenger_onnx_changes_nothing(server, tiny_project, project_params, register, registry_snapshot,
                                                 bundle_version, tmp_path) -> None:
    from sftops.exceptions import RegistryError
    from sftops.registry import promote, registry_client

    name = "reg-corrupt-challenger"
    bundle_version(server, name, tiny_project.good_bundle)
    promote(registry_client(server), name, 1, "baseline")
    corrupt = shutil.copytree(tiny_project.good_bundle, tmp_path / "corrupt")
    (corrupt / "model.onnx").write_bytes(b"\x08\x07 not a protobuf" * 100)
    before = registry_snapshot(server, name)
    with pytest.raises(RegistryError, match=r"corrupt/model.onnx: ONNX Runtime cannot load this model"):
        register(project_params(server, name), bundle_dir=corrupt, **_paths(tiny_project.root))
    assert registry_snapshot(server, name) == before


def test_unscorable_champion_blocks_registration(server, tiny_project, project_params, register, registry_snapshot,
                                                 bundle_version, tmp_path) -> None:
    from sftops.exceptions import RegistryError
    from sftops.registry import promote, registry_client

    name = "reg-corrupt-champion"
    corrupt = shutil.copytree(tiny_project.good_bundle, tmp_path / "corrupt")
    (corrupt / "model.onnx").write_bytes(b"garbage")
    bundle_version(server, name, corrupt)
    promote(registry_client(server), name, 1, "a broken champion")
    before = registry_snapshot(server, name)
    with pytest.raises(RegistryError, match=r"cannot score the current champion \(version 1\).*Nothing was registered"):
        register(project_params(server, name), bundle_dir=tiny_project.good_bundle, **_paths(tiny_project.root))
    assert registry_snapshot(server, name) == before


def test_unreachable_registry_fails_before_any_work(tiny_project, project_params, monkeypatch) -> None:
    from sftops.exceptions import TrackingError
    from sftops.stages import register as register_stage
    from sftops.testing.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    registration = tiny_project.root / "models/registration.json"
    before = registration.read_bytes() if registration.exists() else None
    with pytest.raises(TrackingError, match="unreachable"):
        register_stage(tiny_project.root, project_params(url, "x"))
    assert (registration.read_bytes() if registration.exists() else None) == before

