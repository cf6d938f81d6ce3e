"""`sftops serve` end to end: clear failure without registry or cache, graceful drain on SIGTERM, cached restart."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sftops.testing.onnx_fakes import make_mean_id_bundle, register_bundle
from sftops.testing.servers import free_port, wait_http

ROOT = Path(__file__).resolve().parents[3]
SFTOPS = str(Path(sys.executable).with_name("sftops"))


@pytest.fixture(scope="module")
def sqlite_registry(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite MLflow registry holding `e2e-clf` version 1 (the fixed-weight bundle) as champion."""
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("e2e-registry")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    experiment_id = client.create_experiment("e2e", artifact_location=(root / "artifacts").as_uri())
    client.create_registered_model("e2e-clf")
    register_bundle(client, experiment_id, "e2e-clf", make_mean_id_bundle(root / "bundle"))
    client.set_registered_model_alias("e2e-clf", "champion", "1")
    return uri


def _params(folder: Path) -> str:
    """The project's params.yaml copied to `folder`, which becomes the server's project (drift status, retrains)."""
    copy = folder / "params.yaml"
    shutil.copyfile(ROOT / "params.yaml", copy)
    return str(copy)


def _env(tracking_uri: str, cache: Path, **serve: str) -> dict[str, str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "SFTOPS_SERVE_CACHE_DIR": str(cache)}
    env.update({f"SFTOPS_SERVE_{k.upper()}": v for k, v in serve.items()})
    return env


def test_no_registry_and_no_cache_exits_with_one_clear_line(tmp_path: Path) -> None:
    env = _env(f"http://127.0.0.1:{free_port()}", tmp_path / "cache", feedback_db=str(tmp_path / "fb.db"))
    result = subprocess.run([SFTOPS, "serve", "--model", "e2e-clf", "--params", _params(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("sftops serve: error:") and "no cached copy of e2e-clf@champion" in last
    assert "Traceback" not in result.stderr


def test_sigterm_drains_the_queue_then_a_restart_without_registry_serves_the_cache(
    sqlite_registry: str, tmp_path: Path
) -> None:
    cache, port = tmp_path / "cache", free_port()
    env = _env(sqlite_registry, cache, feedback_db=str(tmp_path / "fb.db"), max_batch_size="2", max_wait_ms="50")
    cmd = [SFTOPS, "serve", "--model", "e2e-clf@champion", "--port", str(port), "--params", _params(tmp_path)]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/ready", timeout=120, proc=proc)

        async def burst() -> list[int]:
            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                tasks = [asyncio.create_task(client.post("/v1/predict", json={"text": f"text number {i}"})) for i in range(40)]
                await asyncio.sleep(0.3)  # requests are queued (2 per 50 ms batch) when the signal arrives
                proc.send_signal(signal.SIGTERM)
                return [r.status_code for r in await asyncio.gather(*tasks)]

        codes = asyncio.run(burst())
        assert proc.wait(60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a graceful shutdown
    finally:
        if proc.poll() is None:
            proc.kill()
    assert codes == [200] * 40
    assert "queue drained" in proc.stdout.read()

    offline = _env(f"http://127.0.0.1:{free_port()}", cache, feedback_db=str(tmp_path / "fb.db"))
    port = free_port()
    proc = subprocess.Popen([*cmd[:-4], "--port", str(port), "--params", _params(tmp_path)], env=offline,
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/ready", timeout=120, proc=proc)
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert health["status"] == "degraded" and "serving cached version 1" in health["detail"]
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/predict", json={"text": "hello"}).json()
        assert answer["predictions"][0]["version"] == "1"
    finally:
        proc.terminate()
        proc.wait(30)


def test_serves_a_models_uri_from_a_registry_apart_from_the_tracking_store(tmp_path: Path) -> None:
    """`--model models:/NAME@ALIAS` with MLFLOW_REGISTRY_URI naming a registry other than the tracking store."""
    from mlflow import MlflowClient

    tracking, registry = f"sqlite:///{tmp_path / 'runs.db'}", f"sqlite:///{tmp_path / 'models.db'}"
    client = MlflowClient(tracking, registry)
    experiment_id = client.create_experiment("e2e", artifact_location=(tmp_path / "artifacts").as_uri())
    client.create_registered_model("apart-clf")
    register_bundle(client, experiment_id, "apart-clf", make_mean_id_bundle(tmp_path / "bundle"), metrics={"f1": 0.5})
    client.set_registered_model_alias("apart-clf", "live", "1")
    env = {**_env(tracking, tmp_path / "cache", feedback_db=str(tmp_path / "fb.db")), "MLFLOW_REGISTRY_URI": registry}
    port = free_port()
    cmd = [SFTOPS, "serve", "--model", "models:/apart-clf@live", "--port", str(port), "--params", _params(tmp_path)]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/ready", timeout=120, proc=proc)
        info = httpx.get(f"http://127.0.0.1:{port}/v1/model").json()
        assert (info["name"], info["version"], info["alias"], info["metrics"]) == ("apart-clf", "1", "live", {"f1": 0.5})
    finally:
        proc.terminate()
        proc.wait(30)

    bad = subprocess.run([SFTOPS, "serve", "--model", "models:/apart-clf/x", "--params", _params(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("sftops serve: error: model reference 'models:/apart-clf/x' is not")
