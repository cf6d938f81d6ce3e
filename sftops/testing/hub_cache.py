"""A local Hugging Face Hub cache built from local files, so Hub ids resolve offline in tests (nothing is fetched).

The layout is huggingface_hub's: `<cache>/models--owner--name/{refs/<branch>, snapshots/<commit>/...}` and
`datasets--owner--name/...` likewise (files copied into the snapshot rather than linked to blobs, which
huggingface_hub reads the same way offline).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd


def _repo_folder(cache: Path, repo_type: str, repo_id: str) -> Path:
    return cache / f"{repo_type}s--{repo_id.replace('/', '--')}"


def _commit(files: dict[str, bytes]) -> str:
    """A stable fake commit hash (40 hex digits) of the snapshot's file names and contents."""
    digest = hashlib.sha1()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha1(files[name]).digest())
    return digest.hexdigest()


def _write_snapshot(cache: Path, repo_type: str, repo_id: str, files: dict[str, bytes], branch: str) -> str:
    commit = _commit(files)
    repo = _repo_folder(Path(cache), repo_type, repo_id)
    snapshot = repo / "snapshots" / commit
    for name, data in files.items():
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_bytes(data)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / branch).write_text(commit)
    return commit


def cache_model(cache: str | Path, repo_id: str, folder: str | Path, *, branch: str = "main") -> str:
    """Put the model `folder` (config, weights, tokenizer) in the Hub `cache` as `repo_id` at `branch`; its commit hash."""
    folder = Path(folder)
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return _write_snapshot(Path(cache), "model", repo_id, files, branch)


def cache_dataset(cache: str | Path, repo_id: str, splits: dict[str, pd.DataFrame], *, config: str | None = None,
                  features: Any = None, branch: str = "main") -> str:
    """Put a dataset (one frame per split, Parquet) in the Hub `cache` as `repo_id` at `branch`; its commit hash.

    `config`: the files go under that configuration name (declared in the README's YAML, as on the Hub).
    `features`: a `datasets.Features` to write them with (e.g. ClassLabel columns)."""
    import datasets

    name = config or "default"
    files: dict[str, bytes] = {}
    tmp = Path(cache) / ".build"
    tmp.mkdir(parents=True, exist_ok=True)
    for split, frame in splits.items():
        target = tmp / f"{split}.parquet"
        datasets.Dataset.from_pandas(frame, features=features, preserve_index=False).to_parquet(str(target))
        files[f"{name}/{split}-00000-of-00001.parquet"] = target.read_bytes()
    shutil.rmtree(tmp)
    listed = "".join(f"  - split: {split}\n    path: {name}/{split}-*\n" for split in splits)
    files["README.md"] = f"---\nconfigs:\n- config_name: {name}\n  data_files:\n{listed}---\n".encode()
    return _write_snapshot(Path(cache), "dataset", repo_id, files, branch)


def point_hub_cache(monkeypatch: Any, home: str | Path) -> Path:
    """Make huggingface_hub and datasets use `home` (HF_HOME) offline, also in this already-importing process.

    Both libraries read their cache folders at import; `monkeypatch` (pytest's) sets the environment for
    subprocesses and the module constants for this process. Returns the Hub cache folder (`home`/hub)."""
    import datasets.config
    import huggingface_hub.constants

    home = Path(home)
    hub, data = home / "hub", home / "datasets"
    for key, value in {"HF_HOME": home, "HF_HUB_CACHE": hub, "HF_DATASETS_CACHE": data}.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", data)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    hub.mkdir(parents=True, exist_ok=True)
    os.makedirs(data, exist_ok=True)
    return hub
