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


def test_registered_model_is_the_onnx_pyfunc_and_the_transformers_model_stays_in_the_run(
        scenario: dict, mlflow_server_url: str, tiny_project) -> None:
    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(mlflow_server_url)
    uri = f"models:/{NAME}@champion"
    info = mlflow.models.get_model_info(uri)
    assert set(info.flavors) == {"python_function"} and info.metadata["label_map"] == {"negative": 0, "neutral": 1, "positive": 2}
    assert info.signature.outputs.input_names() == ["label", "score"]
    test = pd.read_parquet(tiny_project.root / "data/prepared/test.parquet").head(20)
    out = mlflow.pyfunc.load_model(uri).predict(list(test["text"]))
    assert list(out["label"]) == list(test["label_name"]) and out["score"].between(0.34, 1.0).all()
    version = MlflowClient(mlflow_server_url).get_model_version(NAME, "2")
    transformers_info = mlflow.models.get_model_info(version.tags["sftops.transformers_model_uri"])
    assert transformers_info.flavors["transformers"]["task"] == "text-classification"
    assert transformers_info.run_id == version.run_id


# a sitecustomize that makes `import torch` / `import transformers` fail in every process that inherits PYTHONPATH
_BLOCK_TORCH = """
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers"):
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, _Block())
"""


def test_mlflow_models_serve_answers_with_labels_and_scores_without_torch(
        scenario: dict, mlflow_server_url: str, tiny_project, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import urllib.request

    import pandas as pd

    from sftops.testing.servers import free_port, stop_process, wait_http

    (tmp_path / "sitecustomize.py").write_text(_BLOCK_TORCH)
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server_url, "PYTHONPATH": str(tmp_path)}
    blocked = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True)
    assert blocked.returncode == 1 and "torch is blocked" in blocked.stderr
    port = free_port()
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{NAME}@champion", "--env-manager", "local",
           "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
    test = pd.read_parquet(tiny_project.root / "data/prepared/test.parquet").head(20)
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/ping", timeout=120, proc=proc)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", method="POST",
                                             data=json.dumps({"inputs": list(test["text"])}).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as answer:
                predictions = json.load(answer)["predictions"]
        finally:
            stop_process(proc, timeout=20)
    assert [p["label"] for p in predictions] == list(test["label_name"])
    assert all(0.34 <= p["score"] <= 1.0 for p in predictions)


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



def test_version_page_description_says_the_decision_scores_and_runs(scenario: dict, mlflow_server_url: str) -> None:
    client = MlflowClient(mlflow_server_url)
    promoted, rejected = client.get_model_version(NAME, "2"), client.get_model_version(NAME, "3")
    assert promoted.description.startswith("**Champion** since ")
    assert "Test macro_f1 on 90 test texts: this version **1.0000** (fp32) vs champion (version 1) **" in promoted.description
    assert f"[register](#/runs/{promoted.run_id}) · [train](#/runs/train-run-1)" in promoted.description
    assert rejected.description.startswith("**Not promoted** at ") and "champion stays version 2" in rejected.description
    assert "sftops.audit." not in promoted.description.split("\n\n")[0]
