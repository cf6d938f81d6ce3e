"""MLflow run-context plugin: every run started inside a DVC repo carries its lineage, even one started by hand.

Registered as the `mlflow.run_context_provider` entry point `sftops`, so a plain
`mlflow.start_run()` in a notebook gets the git commit and dirty flag, the DVC stage
(DVC sets `DVC_STAGE` for stage commands; `SFTOPS_STAGE` works too), the dvc.lock
hashes of that stage's deps, the prepared-data hash and a hash of params.yaml.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from mlflow.tracking.context.abstract_context import RunContextProvider

STAGE_ENV_VARS = ("DVC_STAGE", "SFTOPS_STAGE")
DEP_TAG_PREFIX = "sftops.dvc.dep."


def find_dvc_root(start: str | Path | None = None) -> Path | None:
    """The nearest folder at or above `start` (default: $DVC_ROOT, else the cwd) holding a dvc.yaml."""
    here = Path(start or os.environ.get("DVC_ROOT") or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    return None


def current_stage() -> str | None:
    """The DVC stage running now, from DVC's own `DVC_STAGE` (e.g. `train` or `dvc.yaml:train`) or `SFTOPS_STAGE`."""
    for var in STAGE_ENV_VARS:
        if os.environ.get(var):
            return os.environ[var].rsplit(":", 1)[-1]
    return None


def _read_yaml(path: Path) -> dict:
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}


def _digest(entry: dict) -> str | None:
    value = entry.get("md5") or entry.get(entry.get("hash") or "")
    return str(value) if value else None


def stage_dep_hashes(root: Path, stage: str) -> dict[str, str]:
    """dvc.lock hashes of `stage`'s deps, by path.

    A dep that another stage outputs takes that stage's out hash, which `dvc repro` has
    already refreshed when this stage runs; other deps take this stage's last recorded hash.
    """
    locked = _read_yaml(root / "dvc.lock").get("stages") or {}
    outs = {o["path"]: d for entry in locked.values() for o in entry.get("outs") or [] if (d := _digest(o))}
    own = {dep["path"]: d for dep in (locked.get(stage) or {}).get("deps") or [] if (d := _digest(dep))}
    declared = ((_read_yaml(root / "dvc.yaml").get("stages") or {}).get(stage) or {}).get("deps") or list(own)
    paths = [dep for dep in declared if isinstance(dep, str)]
    return {path: digest for path in paths if (digest := outs.get(path) or own.get(path))}


def dvc_lineage_tags(root: Path) -> dict[str, str]:
    """The run tags for a DVC repo at `root`; each piece is skipped, not failed, when unavailable."""
    from .config import load_params
    from .exceptions import SftopsError
    from .tracking import lineage_tags, params_hash

    tags = lineage_tags(None, cwd=root)
    tags.pop("mlflow.source.git.commit", None)  # MLflow's own git context owns that key
    params_file = root / "params.yaml"
    if params_file.is_file():
        try:
            tags["sftops.params_hash"] = params_hash(load_params(params_file))
        except SftopsError:
            pass
    stage = current_stage()
    if stage:
        tags["sftops.dvc_stage"] = stage
        tags.update({f"{DEP_TAG_PREFIX}{path}": digest for path, digest in stage_dep_hashes(root, stage).items()})
    return tags


class DvcRunContextProvider(RunContextProvider):
    """Adds git, DVC-stage, dep-hash and params-hash tags to runs started inside a DVC repo."""

    def in_context(self) -> bool:
        return find_dvc_root() is not None

    def tags(self) -> dict[str, str]:
        root = find_dvc_root()
        return dvc_lineage_tags(root) if root else {}
