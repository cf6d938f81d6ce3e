"""The MLflow run-context plugin: a plain `mlflow.start_run()` inside a DVC repo gets lineage tags, cached per process."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import mlflow
import pytest
import yaml

from sftops.config import load_params
from sftops.mlflow_plugin import DvcRunContextProvider, dvc_lineage_tags, stage_dep_hashes
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


# --- per-process cache --------------------------------------------------------------------------------------------


def _age_everything(repo: Path, seconds: float = 60) -> None:
    """Backdate every file of the repo (.git included) past the racy window, as if written a minute ago."""
    past = time.time() - seconds
    for path in [repo, *repo.rglob("*")]:
        os.utime(path, (past, past), follow_symlinks=False)


@pytest.fixture()
def git_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `git` first on PATH that logs each invocation to the returned file, then runs the real git."""
    real = shutil.which("git")
    assert real
    bin_dir, log = tmp_path / "bin", tmp_path / "git-calls.log"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    (bin_dir / "git").chmod(0o755)
    log.write_text("")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_repeated_runs_reuse_the_tags_without_running_git(
    dvc_repo: Path, git_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVC_STAGE", "train")
    _age_everything(dvc_repo)
    provider = DvcRunContextProvider()
    first = provider.tags()
    calls = git_calls.read_text().splitlines()
    assert any("status --porcelain" in c for c in calls) and any(c.startswith("rev-parse HEAD") for c in calls)
    for _ in range(5):
        assert provider.tags() == first
    assert git_calls.read_text().splitlines() == calls  # five more runs, not one more git process
    assert first == dvc_lineage_tags(dvc_repo)


def test_cached_tags_follow_repro_edits_commits_and_stage(dvc_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long-lived notebook: after each change the next run's tags equal freshly computed ones."""
    monkeypatch.setenv("DVC_STAGE", "train")
    _age_everything(dvc_repo)
    provider = DvcRunContextProvider()
    before = provider.tags()
    assert provider.tags() == before and before["sftops.data_hash"] == "aaa.dir"

    # `dvc repro` rewrites dvc.lock: a new prepared-data hash, same file size
    lock = yaml.safe_load((dvc_repo / "dvc.lock").read_text())
    lock["stages"]["prepare"]["outs"][0]["md5"] = "bbb.dir"
    (dvc_repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    after_repro = provider.tags()
    assert after_repro["sftops.data_hash"] == "bbb.dir" and after_repro["sftops.dvc.dep.data/prepared"] == "bbb.dir"

    # an edited tracked file: the tree is dirty and params.yaml hashes anew
    (dvc_repo / "params.yaml").write_text("registry:\n  model_name: edited\n")
    edited = provider.tags()
    assert edited["sftops.git_dirty"] == "true" and edited["sftops.params_hash"] != before["sftops.params_hash"]
    assert edited == dvc_lineage_tags(dvc_repo)

    # a commit: new commit id, clean again
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(dvc_repo)]
    subprocess.run([*git, "commit", "-qam", "edit"], check=True)
    committed = provider.tags()
    assert committed["sftops.git_commit"] != before["sftops.git_commit"] and committed["sftops.git_dirty"] == "false"

    # the same edit again, once everything is old: cached, then an in-place rewrite is seen
    _age_everything(dvc_repo)
    assert provider.tags() == committed == provider.tags()
    (dvc_repo / "params.yaml").write_text("registry:\n  model_name: edit2\n")  # same size as "edited"
    assert provider.tags()["sftops.git_dirty"] == "true"

    # another stage in the same process
    monkeypatch.setenv("DVC_STAGE", "prepare")
    assert provider.tags()["sftops.dvc_stage"] == "prepare"
    assert provider.tags() == dvc_lineage_tags(dvc_repo)
