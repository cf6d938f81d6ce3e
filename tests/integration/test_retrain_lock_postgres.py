"""The PostgreSQL retrain lock under faults: a retrain whose session is terminated stops and fails; /v1/drift's
lock probe runs off the request path, not once per request."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from sftops.config import load_params
from sftops.dburl import storage_url
from sftops.retraining import RetrainLock, is_locked, load_state
from sftops.testing.polling import wait_for
from sftops.testing.retrain_project import make_retrain_project, retrain_runs


def test_a_retrain_that_loses_its_postgres_lock_stops_its_pipeline_and_is_recorded_failed(
    postgres_url: str, tmp_path: Path
) -> None:
    make_retrain_project(tmp_path, sleep=300, retrain={"lock_url": postgres_url, "lock_check_s": 0.5})
    proc = subprocess.Popen([sys.executable, "-m", "sftops.cli", "retrain", "--params", "params.yaml", "--force"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: (tmp_path / "pipeline.pid").exists(), timeout=120)
        pipeline_pid = int((tmp_path / "pipeline.pid").read_text())
        assert is_locked(postgres_url)
        engine = sa.create_engine(storage_url(postgres_url), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:  # what an admin, a failover or a network cut does to the session
            backend = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE application_name LIKE :app"),
                                   {"app": f"sftops-retrain pid {proc.pid} on %"}).scalar_one()
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar_one()
        engine.dispose()
        started = time.monotonic()
        out = proc.communicate(timeout=90)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - started < 60  # the pipeline sleeps 300 s: it was stopped, not waited for
    assert proc.returncode == 1 and "lost the retrain lock" in out, out
    try:
        os.kill(pipeline_pid, 0)
        raise AssertionError(f"the pipeline (pid {pipeline_pid}) still runs")
    except ProcessLookupError:
        pass
    state = load_state(tmp_path / "retrain")
    assert state.status == "failed" and "lost the retrain lock" in state.message and state.pid is None
    assert "the session holding it ended" in state.message
    (run,) = retrain_runs()
    assert run.info.status == "FAILED" and "lost the retrain lock" in run.data.tags["sftops.retrain.message"]
    assert not is_locked(postgres_url)
    with RetrainLock(postgres_url):  # and the next retrain can take it
        pass


def test_drift_status_probes_the_postgres_lock_off_the_request_path(postgres_url: str, tmp_path: Path) -> None:
    from prometheus_client import CollectorRegistry

    from sftops_serving.monitor import STATUS_TTL_S, ServingMonitor

    params_file = make_retrain_project(tmp_path, retrain={"lock_url": postgres_url})
    monitor = ServingMonitor(load_params(params_file).drift, registry=CollectorRegistry(), project_dir=tmp_path)
    connects: list[str] = []

    def count(dbapi_conn: object, record: object) -> None:
        if "psycopg" in type(dbapi_conn).__module__:
            connects.append(type(dbapi_conn).__module__)

    sa.event.listen(sa.pool.Pool, "connect", count)
    try:
        started = time.monotonic()
        answers = [monitor.status() for _ in range(40)]
        elapsed = time.monotonic() - started
        assert all(a.retrain.running is False and a.retrain.lock_error is None for a in answers)
        refreshes = 1 + elapsed / STATUS_TTL_S
        assert 1 <= len(connects) <= 2 * refreshes + 1, (len(connects), elapsed)  # 40 requests: not 40 connections

        with RetrainLock(postgres_url):
            time.sleep(STATUS_TTL_S)
            monitor.status()  # stale: starts a refresh in the background
            wait_for(lambda: monitor.status().retrain.running is True, timeout=10)
            assert f"sftops-retrain pid {os.getpid()} on " in monitor.status().retrain.holder
    finally:
        sa.event.remove(sa.pool.Pool, "connect", count)
        monitor.close()
