"""The MLflow run-context plugin: a plain `mlflow.start_run()` inside a DVC repo gets lineage tags."""

from __future__ import annotations

import subprocess
from pathlib import Path

import mlflow
import pytest
import yaml

from sftops.config import load_params
from sftops.mlflow_plugin import DvcRunContextProvider, stage_dep_hashes
from sftops.tracking import params_hash

LOCK = {
    "schema": "2.0",
    "stages": {
        "prepare": {"cmd": "x", "outs": [{"path": "data/prepared", "hash": "md5", "md5": "aaa.dir"}]},
        "train": {
            "cmd": "y",
            "deps": [
                {"path": "data/prepared", "hash": "md5", "md5": "stale.dir"},
                {"path": "pipelines/train.py", "hash": "md5", "md5": "bbb"},
            ],
            "outs": [{"path": "models/model", "hash": "md5", "md5": "ccc.dir"}],
        },
    },
}


@pytest.fixture(autouse=True)
def _default_experiment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs go to the isolated store's default experiment, whatever an earlier test selected."""
    import mlflow.tracking.fluent as fluent

    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.setattr(fluent, "_active_experiment_id", None)


@pytest.fixture()
def dvc_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repo with dvc.yaml, dvc.lock and params.yaml, committed, as the cwd (nested subfolder)."""
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    stages = {"prepare": {"cmd": "x", "outs": ["data/prepared"]},
              "train": {"cmd": "y", "deps": ["pipelines/train.py", "data/prepared"], "outs": ["models/model"]}}
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    (repo / "dvc.lock").write_text(yaml.safe_dump(LOCK))
    (repo / "params.yaml").write_text("registry:\n  model_name: plugin-test\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    monkeypatch.chdir(repo / "notebooks")
    for var in ("DVC_STAGE", "SFTOPS_STAGE", "DVC_ROOT"):
        monkeypatch.delenv(var, raising=False)
    return repo


def test_plain_start_run_in_a_dvc_repo_gets_lineage_tags(dvc_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVC_STAGE", "train")
    commit = subprocess.run(["git", "-C", str(dvc_repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    with mlflow.start_run() as run:
        pass
    tags = mlflow.MlflowClient().get_run(run.info.run_id).data.tags
    assert tags["sftops.git_commit"] == commit
    assert tags["sftops.git_dirty"] == "false"
    assert tags["sftops.dvc_stage"] == "train"
    assert tags["sftops.dvc.dep.data/prepared"] == "aaa.dir"  # the upstream out, fresher than train's own entry
    assert tags["sftops.dvc.dep.pipelines/train.py"] == "bbb"
    assert tags["sftops.data_hash"] == "aaa.dir"
    assert tags["sftops.params_hash"] == params_hash(load_params(dvc_repo / "params.yaml"))


def test_dirty_tree_and_no_stage(dvc_repo: Path) -> None:
    (dvc_repo / "params.yaml").write_text("registry:\n  model_name: changed\n")
    tags = DvcRunContextProvider().tags()
    assert tags["sftops.git_dirty"] == "true"
    assert "sftops.dvc_stage" not in tags and not any(k.startswith("sftops.dvc.dep.") for k in tags)
    assert tags["sftops.params_hash"] == params_hash(load_params(dvc_repo / "params.yaml"))


def test_outside_a_dvc_repo_the_plugin_stays_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    assert DvcRunContextProvider().in_context() is False
    with mlflow.start_run() as run:
        pass
    assert not any(k.startswith("sftops.") for k in mlflow.MlflowClient().get_run(run.info.run_id).data.tags)


def test_stage_addressed_with_its_file_and_sftops_stage(dvc_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFTOPS_STAGE", "dvc.yaml:train")
    assert DvcRunContextProvider().tags()["sftops.dvc_stage"] == "train"
    assert stage_dep_hashes(dvc_repo, "missing") == {}
