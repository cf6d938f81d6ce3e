"""The closed loop, end to end: `dvc repro` -> champion -> `sftops serve` -> drift alarm -> retrain -> hot swap.

One temp project (a fresh git repo of this project's files) on a real `mlflow server`, with the
tiny random BERT and synthetic texts whose labels follow from their words. Version 1 is trained
with a useless learning rate (1e-9: it stays random), so the retrained version 2 must beat it on
the gate; the test then sets that learning rate back and forces a retrain whose worse version 3
must be rejected. A background client streams requests through all of it and must see no failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sftops.testing import doc_paragraphs
from sftops.testing.polling import wait_for
from sftops.testing.project import make_project_copy, project_env, run, update_params
from sftops.testing.servers import free_port, stop_process, wait_http

USELESS_LR = 1e-9  # the model does not move from its random init: any trained model beats it
GOOD_LR = 1e-2

FEEDBACK_TOKEN = "loop-feedback"  # POST /v1/feedback needs a token


class Traffic(threading.Thread):
    """A client sending one small /v1/predict request after another, recording every failure and version."""

    def __init__(self, url: str, texts: list[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.texts = url, texts
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []
        self.versions: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            i = 0
            while not self.stop.is_set():
                batch = [self.texts[(i + k) % len(self.texts)] for k in range(4)]
                i += 4
                try:
                    resp = client.post("/v1/predict", json={"texts": batch})
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                if resp.status_code != 200:
                    self.failures.append(f"{resp.status_code}: {resp.text[:200]}")
                    continue
                self.ok += 1
                version = resp.json()["predictions"][0]["version"]
                if not self.versions or self.versions[-1] != version:
                    self.versions.append(version)
                time.sleep(0.02)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, mlflow_server_url: str) -> Iterator[tuple[Path, str, str]]:
    """Version 1 registered and champion in a temp project; yields (repo, model name, server URL) with the server up."""
    from sftops.testing import make_text_dataset, make_tiny_bert

    root = tmp_path_factory.mktemp("loop")
    tiny_bert = make_tiny_bert(root / "tiny-bert")
    repo = make_project_copy(root / "proj")
    make_text_dataset(600, seed=7).to_csv(repo / "data/texts.csv", index=False)
    name = f"loop-{uuid.uuid4().hex[:8]}"
    port = free_port()
    update_params(
        repo,
        data={"source": "data/texts.csv", "label_column": "label", "split": {"train": 0.6, "validation": 0.2, "test": 0.2},
              "max_samples": {"train": None, "validation": None, "test": None}},
        model={"base": str(tiny_bert), "max_length": 32},
        train={"learning_rate": USELESS_LR, "batch_size": 16, "eval_batch_size": 64, "epochs": 4, "warmup_ratio": 0.0,
               "early_stopping_patience": 3, "precision": "fp32"},
        tune={"enabled": False},
        tracking={"uri": mlflow_server_url, "experiment": name},
        registry={"model_name": name},
        export={"variants": [], "parity_samples": 64, "drift_samples": 300},
        serve={"port": port, "device": "cpu", "poll_interval_s": 1, "cache_dir": "serve-cache", "max_wait_ms": 2,
               "intra_op_threads": 1},
        # no `confidence` detector: version 1 is untrained, its confidences all lie within 5e-5 of 1/3, and the
        # reference keeps them rounded to 5 decimals, so KS would compare rounding steps, not traffic
        drift={"window": 100, "check_every": 50, "min_check_interval_s": 0, "min_samples": 100, "p_value": 0.01, "mmd_permutations": 1000,
               "detectors": ["labels", "length", "unknown", "embedding"],
               "retrain": {"on_drift": True, "min_feedback": None, "cooldown_s": 3600, "timeout_s": 600}},
    )
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.email=t@sftops", "-c", "user.name=t", "commit", "-qm", "tiny loop profile"], repo)
    run(["dvc", "repro"], repo, timeout=600)
    update_params(repo, train={"learning_rate": GOOD_LR})  # from now on a retrain trains for real
    url = f"http://127.0.0.1:{port}"
    with open(root / "serve.log", "wb") as log:  # the server writes to its own copy of the handle
        server = subprocess.Popen(["sftops", "serve", "--params", "params.yaml"], cwd=repo,
                                  env={**project_env(), "SFTOPS_SERVE_FEEDBACK_TOKEN": FEEDBACK_TOKEN},
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"{url}/ready", timeout=120, proc=server)
        yield repo, name, url
    finally:
        stop_process(server)
        wait_for(lambda: not _retrain_running(repo), timeout=120, every=0.5, what="retrains to finish")


def _retrain_running(repo: Path) -> bool:
    from sftops.retraining import is_locked

    return is_locked(repo / "retrain/retrain.lock")


def _drift(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/v1/drift", timeout=10).json()


def _champion(uri: str, name: str) -> str:
    from mlflow import MlflowClient

    return str(MlflowClient(uri, uri).get_model_version_by_alias(name, "champion").version)


def _pipeline_up_to_date(repo: Path) -> bool:
    """`dvc status` lists nothing but the `source` stage, which always runs (it fingerprints the raw data)."""
    return json.loads(run(["dvc", "status", "--json"], repo).stdout) == {"source": ["always changed"]}


def test_drift_alarm_retrains_promotes_and_hot_swaps_without_a_failed_request(
    project: tuple[Path, str, str], mlflow_server_url: str
) -> None:
    import pandas as pd
    from mlflow import MlflowClient

    from sftops.data.prepared import load_prepared

    repo, name, url = project
    assert _champion(mlflow_server_url, name) == "1"
    test_texts = list(load_prepared(repo / "data/prepared").test["text"])
    traffic = Traffic(url, test_texts)
    traffic.start()
    try:
        # in-domain traffic: the window fills and the checks stay quiet
        ok = wait_for(lambda: (d := _drift(url))["report"] and d["report"]["window_size"] >= 100 and d,
                      timeout=60, every=0.5, what="a drift check on in-domain traffic")
        assert (ok["monitoring"], ok["model_version"], ok["alarm"], ok["report"]["state"]) == (True, "1", False, "ok")
        assert ok["retrain"]["status"] is None

        # users label what they see: Python-docs paragraphs are "neutral"; then such traffic arrives
        docs = doc_paragraphs(200)
        with httpx.Client(base_url=url, timeout=30) as client:
            for text in docs:
                resp = client.post("/v1/feedback", json={"text": text, "label": "neutral"},
                                   headers={"Authorization": f"Bearer {FEEDBACK_TOKEN}"})
                assert resp.json()["stored"] is True, resp.text
            for i in range(0, len(docs), 8):
                assert client.post("/v1/predict", json={"texts": docs[i:i + 8]}).status_code == 200
        # the alarm is an event in the journal: a later quiet check (the in-domain traffic goes on) cannot cancel it
        alarm = wait_for(lambda: (d := _drift(url))["last_alarm"] and d, timeout=60, every=0.5, what="a drift alarm")["last_alarm"]
        assert "length" in alarm["failing"] and alarm["model_version"] == "1", alarm

        # the server started `sftops retrain --reason drift --alarm ID`; it merges the feedback and reruns dvc repro
        done = wait_for(lambda: (d := _drift(url))["retrain"]["status"] not in (None, "running")
                        and not d["retrain"]["running"] and d, timeout=400, every=2, what="the retrain to finish")
        retrain = done["retrain"]
        assert (retrain["status"], retrain["reason"], retrain["model_version"], retrain["decision"]) == (
            "promoted", "drift", "2", "promoted"), retrain
        assert _champion(mlflow_server_url, name) == "2"
        wait_for(lambda: httpx.get(f"{url}/v1/model").json()["version"] == "2", timeout=30, every=0.5,
                 what="the server to swap in version 2")
        time.sleep(1.5)  # a few more requests answered by version 2
    finally:
        traffic.stop.set()
        traffic.join(timeout=30)
    assert traffic.failures == [] and traffic.ok > 50
    assert traffic.versions == ["1", "2"]

    client = MlflowClient(mlflow_server_url, mlflow_server_url)
    run = client.get_run(retrain["run_id"])
    assert (run.data.tags["sftops.retrain.reason"], run.data.tags["sftops.retrain.outcome"]) == ("drift", "promoted")
    assert str(alarm["id"]) in run.data.tags["sftops.retrain.alarms"].split(",")  # the retrain consumed that alarm
    after = _drift(url)
    assert after["pending_alarms"] == 0 and after["errors"] == 0, after  # later alarms: suppressed by the cooldown
    assert run.data.metrics["feedback_rows"] == len(docs)
    assert client.get_model_version(name, "2").tags["sftops.retrain_run_id"] == retrain["run_id"]
    merged = pd.read_csv(repo / "data/feedback/feedback.csv")
    assert len(merged) == len(docs) and set(merged["label"]) == {"neutral"}
    assert _drift(url)["model_version"] == "2"  # the monitor follows the swap with version 2's reference
    gate = json.loads((repo / "models/registration.json").read_text())
    assert gate["test_overlap"] == {"2": 0, "1": 0}, gate  # feedback went to train: no test text was trained on


def test_a_worse_retrained_model_keeps_the_champion(project: tuple[Path, str, str], mlflow_server_url: str) -> None:
    repo, name, url = project
    wait_for(lambda: not _retrain_running(repo), timeout=300, every=2, what="no retrain running")
    assert _champion(mlflow_server_url, name) == "2"
    update_params(repo, train={"learning_rate": USELESS_LR})
    out = run(["sftops", "retrain", "--params", "params.yaml", "--force", "--reason", "manual"], repo, timeout=400)
    assert "retrain rejected" in out.stdout and "version 3" in out.stdout, out.stdout
    assert _champion(mlflow_server_url, name) == "2"
    time.sleep(2.5)  # two registry polls: the server must stay on version 2
    assert httpx.get(f"{url}/v1/model").json()["version"] == "2"
    retrain = _drift(url)["retrain"]
    assert (retrain["status"], retrain["reason"], retrain["model_version"], retrain["decision"]) == (
        "rejected", "manual", "3", "rejected")
    assert os.path.exists(repo / "dvc.lock") and _pipeline_up_to_date(repo)
    gate = json.loads((repo / "models/registration.json").read_text())
    assert gate["test_overlap"] == {"3": 0, "2": 0}, gate  # still 0 after a second retrain


def test_a_retrain_killed_midway_leaves_everything_consistent_and_a_later_one_succeeds(
    project: tuple[Path, str, str], mlflow_server_url: str
) -> None:
    import psutil
    from mlflow import MlflowClient

    repo, name, _url = project
    wait_for(lambda: not _retrain_running(repo), timeout=300, every=2, what="no retrain running")
    client = MlflowClient(mlflow_server_url, mlflow_server_url)
    versions_before = {v.version for v in client.search_model_versions(f"name='{name}'")}
    champion_before = _champion(mlflow_server_url, name)
    feedback_before = (repo / "data/feedback/feedback.csv").read_bytes()
    update_params(repo, train={"learning_rate": GOOD_LR, "seed": 7})  # a real change: the pipeline has work to do

    killed = subprocess.Popen(["sftops", "retrain", "--params", "params.yaml", "--force", "--reason", "manual"],
                              cwd=repo, env=project_env(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    retrain_log = repo / "retrain/retrain.log"
    wait_for(lambda: retrain_log.is_file() and "Running stage 'train'" in retrain_log.read_text(),
             timeout=300, every=0.2, what="the train stage to start")
    tree = [killed, *(psutil.Process(killed.pid).children(recursive=True))]
    for proc in tree:  # kill -9 the retrain and the whole `dvc repro` below it, mid-training
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    wait_for(lambda: not any(p.is_running() and p.status() != "zombie" for p in tree[1:] if psutil.pid_exists(p.pid)),
             timeout=30, every=0.5, what="the killed pipeline's processes to be gone")

    # nothing half-done reached the registry, the feedback data or dvc.lock
    assert {v.version for v in client.search_model_versions(f"name='{name}'")} == versions_before
    assert _champion(mlflow_server_url, name) == champion_before
    assert (repo / "data/feedback/feedback.csv").read_bytes() == feedback_before
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert {"prepare", "train", "register"} <= set(lock["stages"])
    status = run(["dvc", "status"], repo)
    assert "train" in status.stdout  # the interrupted stage is reported as changed, not as done

    out = run(["sftops", "retrain", "--params", "params.yaml", "--force", "--reason", "manual"], repo, timeout=400)
    assert f"version {max(int(v) for v in versions_before) + 1}" in out.stdout, out.stdout
    assert _pipeline_up_to_date(repo)
