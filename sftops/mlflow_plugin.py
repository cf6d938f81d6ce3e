"""MLflow run-context plugin: every run started inside a DVC repo carries its lineage, even one started by hand.

Registered as the `mlflow.run_context_provider` entry point `sftops`, so a plain
`mlflow.start_run()` in a notebook gets the git commit and dirty flag, the DVC stage
(DVC sets `DVC_STAGE` for stage commands; `SFTOPS_STAGE` works too), the dvc.lock
hashes of that stage's deps, the prepared-data hash and a hash of params.yaml.

The tags are cached per process: a repeated `start_run` reuses them while nothing they are read
from has changed (dvc.yaml, dvc.lock, params.yaml, git's HEAD, ref and index, and the stat of
every tracked file, which is what decides the dirty flag), so a notebook that runs `dvc repro`
or edits a file between runs still gets fresh tags, and an unchanged repo costs a few stat calls.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from dataclasses import dataclass
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


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: about 5x faster on a dvc.lock


def _read_yaml(path: Path) -> dict:
    return (yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}) if path.is_file() else {}


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
        with contextlib.suppress(SftopsError):
            tags["sftops.params_hash"] = params_hash(load_params(params_file))
    stage = current_stage()
    if stage:
        tags["sftops.dvc_stage"] = stage
        tags.update({f"{DEP_TAG_PREFIX}{path}": digest for path, digest in stage_dep_hashes(root, stage).items()})
    return tags


Stamp = tuple[int, int, int] | None
# A file written this recently may be written again within its filesystem's timestamp granularity
# (a jiffy, or seconds on some filesystems) without its stamp changing: tags read from it are not reused
# until it is older (git treats "racily clean" index entries the same way).
RACY_NS = 2_000_000_000


def _stamp(path: Path) -> Stamp:
    """(mtime_ns, size, inode) of a file, None when it is absent: any write or replacement changes it."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


@dataclass(frozen=True)
class _GitFiles:
    """Where a repo keeps HEAD and its refs, and its tracked files, as of one state of its index."""

    git_dir: Path
    common_dir: Path
    index_stamp: Stamp
    tracked: tuple[Path, ...]


@dataclass(frozen=True)
class _NoGit:
    """`root` is in no git repo, as long as no `.git` appears at or above it."""

    dot_gits: tuple[Stamp, ...]


def _dot_gits(root: Path) -> tuple[Stamp, ...]:
    return tuple(_stamp(folder / ".git") for folder in (root, *root.parents))


def _git_files(root: Path, known: _GitFiles | _NoGit | None) -> _GitFiles | _NoGit:
    """The repo's git layout and tracked files; `known` is reused while the index file (or the lack of a repo) holds."""
    if isinstance(known, _GitFiles) and _stamp(known.git_dir / "index") == known.index_stamp:
        return known
    if isinstance(known, _NoGit) and _dot_gits(root) == known.dot_gits:
        return known
    no_git = _NoGit(_dot_gits(root))
    try:
        git_dir, common_dir, top = subprocess.run(
            ["git", "rev-parse", "--absolute-git-dir", "--git-common-dir", "--show-toplevel"], cwd=root,
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.splitlines()[:3]
        index_stamp = _stamp(Path(git_dir) / "index")  # taken before listing: a change while listing shows next time
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=top, capture_output=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError, ValueError):  # not a git repo, no git, or odd output
        return no_git
    tracked = tuple(Path(top) / name for name in listed.decode("utf-8", "surrogateescape").split("\0") if name)
    return _GitFiles(Path(git_dir), (root / common_dir).resolve(), index_stamp, tracked)


def _inputs_stamp(root: Path, git: _GitFiles | _NoGit) -> tuple[str, tuple[Stamp, ...], tuple[Stamp, ...]]:
    """What the tags are read from, stamped: (HEAD, git's index and ref files, the DVC files, params.yaml and tracked files).

    Git replaces its own files (new inode) on every write, so only the second group can change unseen in place."""
    own: list[Path] = []
    files = [root / "dvc.yaml", root / "dvc.lock", root / "params.yaml"]
    head = ""
    if isinstance(git, _GitFiles):
        try:
            head = (git.git_dir / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            head = ""
        ref = head.removeprefix("ref: ") if head.startswith("ref: ") else None
        own = [git.git_dir / "index", git.common_dir / "packed-refs", *([git.common_dir / ref] if ref else [])]
        files += git.tracked
    return head, tuple(_stamp(f) for f in own), tuple(_stamp(f) for f in files)


class _TagCache:
    """The last tags computed per (DVC root, stage), with the stamp of their inputs; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Path, str | None], tuple[object, dict[str, str]]] = {}
        self._git: dict[Path, _GitFiles | _NoGit] = {}

    def tags(self, root: Path) -> dict[str, str]:
        key = (root, current_stage())
        with self._lock:
            git = self._git[root] = _git_files(root, self._git.get(root))
            now, stamp = time.time_ns(), _inputs_stamp(root, git)
            cached = self._entries.get(key)
            if cached is not None and cached[0] == stamp:
                return dict(cached[1])
        tags = dvc_lineage_tags(root)
        newest = max((s[0] for s in stamp[2] if s is not None), default=0)
        with self._lock:
            if newest < now - RACY_NS:  # stamped before reading: a change meanwhile is seen next time
                self._entries[key] = (stamp, tags)
            else:
                self._entries.pop(key, None)
        return dict(tags)


_CACHE = _TagCache()


class DvcRunContextProvider(RunContextProvider):
    """Adds git, DVC-stage, dep-hash and params-hash tags to runs started inside a DVC repo (cached per process)."""

    def in_context(self) -> bool:
        return find_dvc_root() is not None

    def tags(self) -> dict[str, str]:
        root = find_dvc_root()
        return _CACHE.tags(root) if root else {}
