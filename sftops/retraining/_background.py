"""Start `sftops retrain` from a long-running process (the server) without blocking it, and without its private env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# variables this process set for its own use (name -> the value it set); retrains it starts do not inherit them
_PRIVATE_ENV: dict[str, str] = {}


def set_private_env(values: Mapping[str, str]) -> None:
    """Set environment variables for this process only, each unless already set (the user's value wins).

    The server tunes its own MLflow client this way (short timeouts, one retry); a retrain it
    spawns talks to MLflow for hours and must get the user's environment, not the server's tuning."""
    for key, value in values.items():
        if key not in os.environ:
            os.environ[key] = value
            _PRIVATE_ENV[key] = value


def child_env() -> dict[str, str]:
    """This process's environment without what `set_private_env` added (a value changed since then is kept)."""
    return {k: v for k, v in os.environ.items() if _PRIVATE_ENV.get(k) != v}


def spawn_retrain(params_file: str | Path, *, reason: str, context: dict[str, Any] | None = None,
                  log_file: str | Path | None = None, force: bool = False,
                  alarms: Sequence[int] = ()) -> subprocess.Popen[bytes]:
    """Run `python -m sftops.retraining.cli` detached in the params file's folder; the lock there decides who runs.

    `alarms`: the drift alarm ids this retrain is started for (`--alarm`)."""
    params_file = Path(params_file).resolve()
    cmd = [sys.executable, "-m", "sftops.retraining.cli", "--params", params_file.name, "--reason", reason]
    if context:
        cmd += ["--context", json.dumps(context, default=str)]
    for alarm_id in alarms:
        cmd += ["--alarm", str(alarm_id)]
    if force:
        cmd.append("--force")
    if not log_file:
        return subprocess.Popen(cmd, cwd=params_file.parent, env=child_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT, start_new_session=True)
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as out:  # the child holds its own copy of the descriptor
        return subprocess.Popen(cmd, cwd=params_file.parent, env=child_env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
