"""Two `sftops tune` worker processes share one Optuna study in a real PostgreSQL: no lost or extra trials."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import optuna
import yaml
from mlflow import MlflowClient

from sftops.tuning._study import storage_url

N_TRIALS = 5


def test_two_workers_finish_one_study(prepared_dir, tiny_bert_dir, tmp_path, postgres_url, mlflow_server_url):
    params = {
        "model": {"base": str(tiny_bert_dir), "max_length": 32},
        "train": {"learning_rate": 1e-2, "batch_size": 16, "epochs": 1, "warmup_ratio": 0.0},
        "tune": {"storage": postgres_url, "n_trials": N_TRIALS, "pruner": "none", "heartbeat_interval": 5,
                 "search_space": {"train.learning_rate": {"type": "float", "low": 1e-3, "high": 2e-2, "log": True}}},
        "tracking": {"experiment": "tune-postgres"},
    }
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server_url, "OMP_NUM_THREADS": "1"}
    workers = []
    for name in ("a", "b"):
        folder = tmp_path / name
        shutil.copytree(prepared_dir, folder / "data" / "prepared")
        (folder / "params.yaml").write_text(yaml.safe_dump(params))
        workers.append(subprocess.Popen([sys.executable, "-m", "sftops.cli", "tune"], cwd=folder, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    results = [json.loads((tmp_path / name / "models" / "best_params.json").read_text()) for name in ("a", "b")]
    assert results[0] == results[1]  # both waited for the whole study before writing
    study = optuna.load_study(study_name=results[0]["study_name"], storage=storage_url(postgres_url))
    finished = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    assert len(finished) == N_TRIALS
    assert len({t.number for t in study.trials}) == len(study.trials)
    others = [t for t in study.trials if t not in finished]
    assert all(t.user_attrs.get("sftops.surplus") for t in others)  # only race losers, which trained nothing

    client = MlflowClient(mlflow_server_url)
    parent = client.get_run(results[0]["mlflow_run_id"])
    children = client.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    numbers = sorted(int(c.data.tags["optuna.trial_number"]) for c in children)
    assert numbers == sorted(t.number for t in finished)
    # both workers really took part
    assert all("Optuna study" in out for out in outputs)
