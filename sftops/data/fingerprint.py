"""A fingerprint of the raw data `prepare` reads: it changes when, and only when, that data changes.

DVC cannot hash `data.source` itself (it may be `builtin:tweets`, a path outside the repo, a Hub dataset,
whose resolved commit hash stands for its files, or glob patterns in `data.extra_sources`), so DVC stage
`source` (always run) writes this fingerprint to data/source.json and `prepare` depends on that file:
editing the dataset reruns `prepare`, and an unchanged dataset leaves the file, hence everything after
it, as it was.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..atomic import write_json
from ..config import DataConfig
from ..defaults import builtin_data_origin, is_builtin_data
from .hub import dataset_snapshot
from .sources import expand_pattern, given_sources, resolve_source

log = logging.getLogger(__name__)

FINGERPRINT_FILE = Path("data/source.json")
_CHUNK = 1 << 20


class FileDigest(BaseModel):
    """One file's path (project-relative when inside the project, `~/...` under the home folder), size and sha256."""

    model_config = ConfigDict(frozen=True)

    path: str
    size: int
    sha256: str


class SourceDigest(BaseModel):
    """One source as named in params, with the files it resolves to (a datasets folder: every file in it)."""

    model_config = ConfigDict(frozen=True)

    name: str  # as written in params.yaml: a builtin name, a path, an extra_sources pattern, or hf://datasets/...
    package: str | None = None  # builtin sources: the distribution shipping the data, and its version
    version: str | None = None
    revision: str | None = None  # a Hub dataset: the commit hash it resolved to (which names its files exactly)
    files: tuple[FileDigest, ...]


class SourceFingerprint(BaseModel):
    """What data/source.json holds: `data.source` (one source, or one per given split) and each
    `data.extra_sources` pattern, hashed."""

    model_config = ConfigDict(frozen=True)

    source: SourceDigest | dict[str, SourceDigest]
    extra_sources: tuple[SourceDigest, ...]

    def files(self) -> list[FileDigest]:
        """Every file hashed, sources first."""
        sources = list(self.source.values()) if isinstance(self.source, dict) else [self.source]
        return [f for digest in (*sources, *self.extra_sources) for f in digest.files]


def _shown(path: Path, root: Path) -> str:
    """A path for the fingerprint: relative to `root` inside it, `~/...` under the home folder, else absolute."""
    resolved = path.resolve()
    for base, prefix in ((root.resolve(), ""), (Path.home().resolve(), "~/")):
        if resolved.is_relative_to(base):
            return prefix + resolved.relative_to(base).as_posix()
    return resolved.as_posix()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _digests(path: Path, shown: str) -> tuple[FileDigest, ...]:
    """A file's digest, or a folder's: each file under it by its path inside the folder, in sorted order."""
    if path.is_file():
        return (FileDigest(path=shown, size=path.stat().st_size, sha256=_sha256(path)),)
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return tuple(FileDigest(path=f"{shown}/{p.relative_to(path).as_posix()}", size=p.stat().st_size, sha256=_sha256(p))
                 for p in files)


def _source_digest(source: str, root: Path) -> SourceDigest:
    path = resolve_source(source)
    if is_builtin_data(source):
        package, version, inner = builtin_data_origin(source)
        return SourceDigest(name=source, package=package, version=version, files=_digests(path, inner))
    return SourceDigest(name=source, files=_digests(path, _shown(path, root)))


def source_fingerprint(cfg: DataConfig, root: Path | None = None) -> SourceFingerprint:
    """Hash `data.source` and every file `data.extra_sources` matches; paths resolve against the working folder.

    `root` (default: the working folder) is what fingerprint paths are shown relative to.
    Raises DataError when `data.source` (or a non-glob extra source) does not exist, or the builtin data's package is missing.
    """
    root = root or Path.cwd()
    main: SourceDigest | dict[str, SourceDigest]
    if cfg.hub_source is not None:  # online this asks the Hub for the branch's commit (and downloads a new one once)
        main = SourceDigest(name=cfg.hub_source.name, revision=dataset_snapshot(cfg).revision, files=())
    else:
        given = {split: _source_digest(source, root) for source, split in given_sources(cfg)}
        main = given.pop("") if "" in given else given
    extras = []
    for pattern in cfg.extra_sources:
        paths = [resolve_source(str(p), "data.extra_sources") for p in expand_pattern(pattern)]
        extras.append(SourceDigest(name=pattern, files=tuple(d for p in paths for d in _digests(p, _shown(p, root)))))
    return SourceFingerprint(source=main, extra_sources=tuple(extras))


def write_fingerprint(cfg: DataConfig, target: str | Path = FINGERPRINT_FILE) -> SourceFingerprint:
    """Write `source_fingerprint(cfg)` to `target` as JSON (atomically); the file's bytes change only with the data.

    Raises DataError as `source_fingerprint` does.
    """
    fingerprint = source_fingerprint(cfg)
    write_json(target, fingerprint.model_dump(mode="json", exclude_none=True))
    log.info("fingerprint of %d source file(s) written to %s", len(fingerprint.files()), target)
    return fingerprint
