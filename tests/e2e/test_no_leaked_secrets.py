"""No secret leaves its place: the pipeline, the server and a retrain run with password-bearing URLs, then every
file they wrote, every MLflow record and every response is searched for the password.

A temp project (tiny random BERT, synthetic texts) on its own `mlflow server` and a real PostgreSQL with a role
that has a password. tune.storage and serve.feedback_db hold the password as it is, tracking.uri and
drift.retrain.lock_url as a `${SFTOPS_LEAK_PW}` reference expanded from the environment.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from sftops.dburl import storage_url
from sftops.testing.project import make_project_copy, project_env, update_params
from sftops.testing.servers import free_port, mlflow_server, stop_process, wait_http

PW = "Leak7pw9Qx"  # URL-safe, so its percent-encoded form is the same bytes
ROLE, DB = "leaker", "leaktest"
ADMIN = "admin-token-for-the-leak-test"


@pytest.fixture(scope="module")
def leak_db(postgres_url: str) -> str:
    """A database owned by a role with a password; the URL with `{}` where the password goes."""
    engine = sa.create_engine(storage_url(postgres_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DB}"))
        conn.execute(sa.text(f"DROP ROLE IF EXISTS {ROLE}"))
        conn.execute(sa.text(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PW}'"))
        conn.execute(sa.text(f"CREATE DATABASE {DB} OWNER {ROLE}"))
    engine.dispose()
    port = make_url(postgres_url).port
    return f"postgresql://{ROLE}:{{}}@127.0.0.1:{port}/{DB}"


def _run(cmd: list[str], repo: Path, env: dict[str, str], seen: list[str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
    seen.append(f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return proc


def _files_holding(root: Path, secret: bytes, skip: set[Path]) -> list[str]:
    return [str(p.relative_to(root)) for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and p not in skip and ".git" not in p.relative_to(root).parts
            and secret in p.read_bytes()]


def test_no_password_in_files_runs_logs_or_responses(tmp_path: Path, leak_db: str) -> None:
    from mlflow import MlflowClient

    from sftops.testing import make_text_dataset, make_tiny_bert

    literal, reference = leak_db.format(PW), leak_db.format("${SFTOPS_LEAK_PW}")
    name = f"leak-{uuid.uuid4().hex[:8]}"
    port = free_port()
    seen: list[str] = []  # every command's output and every response body
    with mlflow_server(tmp_path / "mlflow") as mlflow_url:
        tiny_bert = make_tiny_bert(tmp_path / "tiny-bert")
        repo = make_project_copy(tmp_path / "proj")
        make_text_dataset(300, seed=5).to_csv(repo / "data/texts.csv", index=False)
        update_params(
            repo,
            data={"source": "data/texts.csv", "label_column": "label", "split": {"train": 0.6, "validation": 0.2, "test": 0.2},
                  "max_samples": {"train": None, "validation": None, "test": None}},
            model={"base": str(tiny_bert), "max_length": 32},
            train={"learning_rate": 1e-2, "batch_size": 32, "eval_batch_size": 64, "epochs": 1, "warmup_ratio": 0.0,
                   "precision": "fp32"},
            tune={"enabled": True, "storage": literal, "n_trials": 1, "pruner": "none", "evals_per_epoch": 1,
                  "max_train_samples": 60, "max_eval_samples": 30,
                  "search_space": {"train.learning_rate": {"type": "float", "low": 5e-3, "high": 2e-2, "log": True}}},
            tracking={"uri": mlflow_url.replace("http://", "http://mlflow-user:${SFTOPS_LEAK_PW}@"), "experiment": name},
            registry={"model_name": name},
            export={"variants": [], "parity_samples": 32, "drift_samples": 100},
            serve={"port": port, "device": "cpu", "feedback_db": literal, "cache_dir": "serve-cache",
                   "intra_op_threads": 1, "poll_interval_s": 2},
            drift={"window": 50, "check_every": 25, "min_check_interval_s": 0, "min_samples": 50,
                   "retrain": {"lock_url": reference, "min_feedback": None,
                               "command": [sys.executable, "-c", "print('pipeline stand-in')"]}},
        )
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "-c", "user.email=t@sftops", "-c", "user.name=t", "commit", "-qm", "leak profile"], cwd=repo, check=True)
        env = {**project_env(), "SFTOPS_LEAK_PW": PW, "SFTOPS_SERVE_ADMIN_TOKEN": ADMIN}

        repro = _run(["dvc", "repro"], repo, env, seen)
        assert repro.returncode == 0, seen[-1]

        log_path = tmp_path / "serve.log"
        with open(log_path, "wb") as log:
            server = subprocess.Popen(["sftops", "serve", "--params", "params.yaml"], cwd=repo, env=env,
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                url = f"http://127.0.0.1:{port}"
                wait_http(f"{url}/ready", timeout=120, proc=server)
                auth = {"Authorization": f"Bearer {ADMIN}"}
                with httpx.Client(base_url=url, timeout=30) as client:
                    texts = [f"the film was {w}" for w in ("great", "awful", "fine", "long", "short")] * 12
                    for start in range(0, len(texts), 10):
                        assert client.post("/v1/predict", json={"texts": texts[start:start + 10]}).status_code == 200
                    feedback = client.post("/v1/feedback", json={"text": "a leak test text", "label": "positive"}, headers=auth)
                    assert feedback.status_code == 200, feedback.text
                    client.post("/v1/admin/drift/check", headers=auth)
                    for path in ("/health", "/v1/model", "/v1/drift", "/metrics"):
                        resp = client.get(path)
                        assert resp.status_code == 200, (path, resp.text)
                        seen.append(f"GET {path}\n{resp.text}")
                    seen.append(feedback.text)
            finally:
                stop_process(server)

        # the drift check above may have started a retrain (it holds the lock in PostgreSQL for a moment)
        deadline = time.monotonic() + 120
        while (retrain := _run(["sftops", "retrain", "--force", "--reason", "manual"], repo, env, seen, timeout=300)).returncode == 75:
            assert time.monotonic() < deadline, seen[-1]
            time.sleep(2)
        assert retrain.returncode in (0, 1), seen[-1]

        # the URLs were really used: the study and the feedback went to the role's database, the runs to the server
        engine = sa.create_engine(storage_url(literal))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM feedback")).scalar_one() == 1
            assert conn.execute(sa.text("SELECT count(*) FROM trials")).scalar_one() >= 1
        engine.dispose()
        client = MlflowClient(mlflow_url)
        experiment = client.get_experiment_by_name(name)
        runs = client.search_runs([experiment.experiment_id], max_results=200)
        kinds = {r.data.tags.get("sftops.kind") or r.data.tags.get("sftops.stage") or r.info.run_name for r in runs}
        assert "retrain" in kinds and "tune" in kinds and len(runs) >= 5, kinds
        parent = next(r for r in runs if r.data.params.get("tune.storage"))
        assert parent.data.params["tune.storage"] == leak_db.format("***")
        assert (repo / "dvc.lock").is_file()

    secret = PW.encode()
    leaks = {
        "project files": _files_holding(repo, secret, skip={repo / "params.yaml"}),
        "MLflow server (database, artifacts, log)": _files_holding(tmp_path / "mlflow", secret, skip=set()),
        "server log": [str(log_path)] if secret in log_path.read_bytes() else [],
        "outputs and responses": [s[:200] for s in seen if PW in s],
    }
    assert leaks == {k: [] for k in leaks}
    assert PW not in (repo / "dvc.lock").read_text() and "tune:" in (repo / "dvc.lock").read_text()
