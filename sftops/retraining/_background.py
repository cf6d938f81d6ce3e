"""Start `sftops retrain` from a long-running process (the server) without blocking it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def spawn_retrain(params_file: str | Path, *, reason: str, context: dict[str, Any] | None = None,
                  log_file: str | Path | None = None, force: bool = False) -> subprocess.Popen[bytes]:
    """Run `python -m sftops.retraining.cli` detached in the params file's folder; the lock there decides who runs."""
    params_file = Path(params_file).resolve()
    cmd = [sys.executable, "-m", "sftops.retraining.cli", "--params", params_file.name, "--reason", reason]
    if context:
        cmd += ["--context", json.dumps(context, default=str)]
    if force:
        cmd.append("--force")
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115 - the child owns it
    try:
        return subprocess.Popen(cmd, cwd=params_file.parent, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        if log_file:
            out.close()
