"""Start real local services for tests: an `mlflow server` and a PostgreSQL cluster on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 90.0, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers 200; fail early if `proc` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def mlflow_server_command(root: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a local `mlflow server` with a SQLite store and artifacts under `root`.

    MLflow 3's server also starts a job runner (8 huey consumer processes) for GenAI jobs that
    sftops never submits; idle, it used 0.85 of a core here (17 CPU-seconds in 20 s), so every
    server we start turns it off (MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false: 0 CPU-seconds idle).
    """
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]
    return cmd, {**os.environ, "MLFLOW_TRACKING_URI": "", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


@contextlib.contextmanager
def mlflow_server(root: Path, port: int | None = None) -> Iterator[str]:
    """Run `mlflow server` with a SQLite store under `root`; yield its http URL, stop it after."""
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    cmd, env = mlflow_server_command(root, port)
    url = f"http://127.0.0.1:{port}"
    with (root / "mlflow-server.log").open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
        try:
            wait_http(f"{url}/health", timeout=120, proc=proc)
            yield url
        finally:
            stop_process(proc, timeout=20)


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not candidates:
        raise RuntimeError(f"PostgreSQL's {name} not found: install it with `apt-get install postgresql` (scripts/setup.sh --test does)")
    return str(candidates[-1])


@contextlib.contextmanager
def postgres_server(port: int | None = None) -> Iterator[str]:
    """Init and run a throwaway PostgreSQL cluster in a fresh /tmp folder; yield a postgresql:// URL."""
    # Directly under /tmp and world-readable: as root, the server runs as `postgres`, which
    # cannot enter pytest's 0700 tmp folders.
    root = Path(tempfile.mkdtemp(prefix="sftops-pg-"))
    root.chmod(0o755)
    port = port or free_port()
    data = root / "pgdata"
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the `postgres` system user
        shutil.chown(root, user="postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*run_as, _pg_bin("initdb"), "-D", str(data), "-U", "sftops", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    proc = subprocess.Popen(
        [*run_as, _pg_bin("postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            ready = subprocess.run([_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True)
            if ready.returncode == 0:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start")
            time.sleep(0.3)
        subprocess.run([_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "sftops", "optuna"], check=True)
        yield f"postgresql://sftops@127.0.0.1:{port}/optuna"
    finally:
        stop_process(proc, timeout=20)
        shutil.rmtree(root, ignore_errors=True)


def stop_process(proc: subprocess.Popen, timeout: float = 30.0) -> int:
    """Stop a server the way its users do: SIGTERM, then SIGKILL if it has not exited within `timeout` s; its exit code."""
    proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
