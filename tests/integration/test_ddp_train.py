"""`sftops train --nproc 2`: DDP on two CPU processes (gloo) trains like one process and logs one MLflow run."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

import sftops

# One process with batch 16 and two with batch 8 each take the same optimizer steps on the same mean gradient over
# 16 rows; only the shuffling (RandomSampler vs DistributedSampler) and the dropout draws differ, so the two agree as
# closely as two seeds of one process do. Measured on these settings, seeds 42 / 7 / 1234 each way: the validation
# loss after epoch 1 was 1.10-1.15 in all six runs, after epoch 2 0.84-1.11 (the tiny BERT at this rate is jumpy;
# means 0.99 on one process, 1.03 on two).
# A gradient scaled by the world size (transformers' average_tokens_across_devices with a mean-loss head) gave 2.33
# after epoch 1 against ~1.1; ranks training alone on all rows take twice the steps.
EVAL_LOSS_TOLERANCE = (0.1, 0.35)  # after epoch 1, after epoch 2


def _params(base: Path, batch_size: int, experiment: str) -> dict:
    return {
        "model": {"base": str(base), "max_length": 32},
        "train": {"learning_rate": 1e-2, "batch_size": batch_size, "eval_batch_size": 64, "epochs": 2,
                  "warmup_ratio": 0.0, "early_stopping_patience": 3, "precision": "fp32"},
        "tune": {"enabled": False},
        "tracking": {"experiment": experiment},
    }


def _outcome(project: Path) -> dict:
    metrics = json.loads((project / "metrics" / "train.json").read_text())
    with open(project / "plots" / "training_curve.csv", newline="") as f:
        evals = [row for row in csv.DictReader(f) if row.get("eval_loss")]
    return {**metrics, "eval_losses": [float(row["eval_loss"]) for row in evals]}


@pytest.fixture
def project(tmp_path: Path, prepared_dir: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(prepared_dir, root / "data" / "prepared")
    return root


def test_two_processes_train_like_one_and_log_one_run(project: Path, tiny_bert_dir: Path, mlflow_server_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server_url)
    client = MlflowClient(mlflow_server_url)

    (project / "params.yaml").write_text(yaml.safe_dump(_params(tiny_bert_dir, 16, "ddp-one")))
    sftops.stages.train(project, tuned=False)
    one = _outcome(project)
    shutil.rmtree(project / "models")
    (project / "metrics" / "train.json").unlink()

    (project / "params.yaml").write_text(yaml.safe_dump(_params(tiny_bert_dir, 8, "ddp-two")))
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server_url, "OMP_NUM_THREADS": "1"}
    sftops_cli = Path(sys.executable).with_name("sftops")
    done = subprocess.run([str(sftops_cli), "train", "--no-tuned", "--nproc", "2"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    two = _outcome(project)

    assert (project / "models" / "model" / "sftops_model.json").is_file()
    assert two["global_steps"] == one["global_steps"] and two["epochs_run"] == one["epochs_run"] == 2
    for ddp, single, tolerance in zip(two["eval_losses"], one["eval_losses"], EVAL_LOSS_TOLERANCE, strict=True):
        assert ddp == pytest.approx(single, abs=tolerance), (two["eval_losses"], one["eval_losses"])

    experiment = client.get_experiment_by_name("ddp-two")
    runs = client.search_runs([experiment.experiment_id])
    assert [r.info.run_id for r in runs] == [two["run_id"]]  # rank 1 opened no run
    assert runs[0].data.tags["sftops.stage"] == "train" and "loss" in runs[0].data.metrics
