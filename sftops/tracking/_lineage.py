"""Lineage of a run: git commit and dirty flag, the DVC hash of the prepared data, a params hash, and the commit
hashes of a Hugging Face Hub base model and dataset."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from ..config import Params
from ..data.hub import cached_dataset_revision, cached_model_revision
from ..paths import PREPARED_DIR


def git_state(cwd: str | Path = ".") -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git repo at `cwd`; (None, None) outside a repo."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            # --no-optional-locks: never rewrite the index (no index.lock clash with the user's own git commands)
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
            capture_output=True, text=True,
            check=True, timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip())


def params_hash(params: Params) -> str:
    """A short stable hash of the fully-resolved params (defaults included)."""
    canonical = json.dumps(params.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def data_hash(lock_file: str | Path = "dvc.lock", out: str | Path = PREPARED_DIR) -> str | None:
    """The md5 DVC recorded in dvc.lock for the prepared-data output, if the prepare stage has run."""
    lock = Path(lock_file)
    if not lock.is_file():
        return None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~5x faster on a dvc.lock
    stages: dict[str, Any] = (yaml.load(lock.read_text(), Loader=loader) or {}).get("stages", {})
    for stage in stages.values():
        for entry in stage.get("outs", []):
            if Path(entry.get("path", "")) == Path(out):
                return entry.get("md5")
    return None


def lineage_tags(params: Params | None = None, cwd: str | Path = ".") -> dict[str, str]:
    """Tags that let a user trace a run back to code, data and params (MLflow keys `sftops.*`)."""
    commit, dirty = git_state(cwd)
    tags: dict[str, str] = {}
    if commit:
        tags["sftops.git_commit"] = commit
        tags["mlflow.source.git.commit"] = commit
        tags["sftops.git_dirty"] = str(dirty).lower()
    digest = data_hash(Path(cwd) / "dvc.lock", Path(PREPARED_DIR))
    if digest:
        tags["sftops.data_hash"] = digest
    if params is not None:
        tags["sftops.params_hash"] = params_hash(params)
        tags.update(hub_revision_tags(params))
    return tags


def hub_revision_tags(params: Params) -> dict[str, str]:
    """`sftops.base_revision` / `sftops.data_revision`: the commit hashes of a Hub `model.base` and Hub `data.source`.

    Read from the local Hub cache only (the stage resolved and downloaded them before the run), so this never
    touches the network; a local base or dataset has no such tag."""
    tags = {}
    model = cached_model_revision(params.model.base, params.model.revision)
    if model:
        tags["sftops.base_revision"] = model
    data = cached_dataset_revision(params.data)
    if data:
        tags["sftops.data_revision"] = data
    return tags
