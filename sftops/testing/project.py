"""Copy this project's tracked files into a fresh git repo, for tests that run `dvc repro` there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def make_project_copy(dest: Path) -> Path:
    """A new git repo at `dest` holding the committed-or-staged project files (not outputs), committed."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_ROOT,
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    dest.mkdir(parents=True, exist_ok=True)
    for rel in listed:
        src = PROJECT_ROOT / rel
        if src.is_file() and not rel.startswith(("tests/", "bench/")):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    git = ["git", "-c", "user.email=test@sftops", "-c", "user.name=sftops-test"]
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-qm", "project copy"], cwd=dest, check=True)
    return dest


def project_env() -> dict[str, str]:
    """Environment for subprocesses: this interpreter's bin first on PATH (dvc, sftops), offline HF."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def run(cmd: list[str], cwd: Path, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command in the project copy, raising with its output when it fails."""
    proc = subprocess.run(cmd, cwd=cwd, env=project_env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def update_params(folder: Path, **sections: dict[str, Any]) -> Path:
    """Merge `sections` into `folder`/params.yaml key by key, as a user editing it would; the file's path."""
    path = folder / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for name, values in sections.items():
        params[name] = {**params.get(name, {}), **values}
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path
