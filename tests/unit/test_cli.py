"""The installed `sftops` command: help lists the stages, errors are one line with exit code 1."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sftops.cli import COMMANDS

SFTOPS = str(Path(sys.executable).parent / "sftops")


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SFTOPS, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_help_lists_every_stage_and_is_quick() -> None:
    start = time.monotonic()
    proc = _run("--help")
    elapsed = time.monotonic() - start
    assert proc.returncode == 0
    for name in ("prepare", "tune", "train", "evaluate", "register", "export", "serve", "promote", "rollback", "retrain"):
        assert name in proc.stdout and name in COMMANDS
    assert elapsed < 10  # heavy libraries are imported lazily, per command


def test_unknown_command_is_an_error() -> None:
    proc = _run("bogus")
    assert proc.returncode == 2 and "unknown command 'bogus'" in proc.stderr


def test_stage_without_params_file_fails_in_one_line(tmp_path: Path) -> None:
    proc = _run("prepare", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "sftops prepare: error: params.yaml: params file not found; run from the project folder or pass --params PATH"
    ]


def test_stage_with_bad_params_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("train:\n  learning_rate: -0.1\n")
    proc = _run("prepare", cwd=tmp_path)
    assert proc.returncode == 1
    assert "train.learning_rate: Input should be greater than 0, got -0.1" in proc.stderr
    assert "Traceback" not in proc.stderr
