"""One retrain at a time across processes and server replicas: an exclusive `flock` on a lock file,
or a PostgreSQL advisory lock when `drift.retrain.lock_url` is set (replicas on several machines).

The kernel drops a flock when its last holder dies (even by kill -9), so a crashed retrain
never leaves a stale lock. The pipeline subprocess inherits the descriptor, so the lock is
held until both the retrain and its `dvc repro` are gone. flock holds across processes on one
machine (or one local filesystem). The PostgreSQL lock is held by the retrain process's
session: it waits for its pipeline, and stops it when interrupted, but a retrain killed with
-9 frees the lock while an orphaned `dvc repro` may still run.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from ..dburl import is_postgres, is_url
from ..exceptions import ConfigError, SftopsError
from ._pglock import PgAdvisoryLock, pg_holder, pg_is_locked
from ._state import LOCK_FILE


class RetrainBusy(SftopsError):
    """Another retrain holds the lock."""


class RetrainLock:
    """Non-blocking exclusive lock; `with RetrainLock(target):` raises RetrainBusy if another process holds it.

    `target` is a lock file path (flock) or a postgresql:// URL (advisory lock, whose session is
    checked every `check_every_s` while held: see `lost`).
    """

    def __init__(self, target: str | Path, *, check_every_s: float = 5.0) -> None:
        _check_target(target)
        self.target = target
        self.path = None if is_url(target) else Path(target)
        self._pg = PgAdvisoryLock(str(target), check_every_s) if self.path is None else None
        self._fd: int | None = None

    @property
    def lost(self) -> str | None:
        """Why a held lock was lost (a PostgreSQL session that ended); None while held. A flock cannot be lost."""
        return self._pg.lost if self._pg is not None else None

    @property
    def pass_fds(self) -> tuple[int, ...]:
        """Descriptors child processes must inherit to keep the lock alive (none for PostgreSQL: we hold the session)."""
        if self._fd is None and not (self._pg and self._pg.held):
            raise RuntimeError("lock not held")
        return () if self._fd is None else (self._fd,)

    def acquire(self) -> None:
        if self._pg is not None:
            if not self._pg.try_acquire():
                raise RetrainBusy(f"another retrain is running ({holder(self.target) or 'holder unknown'}); wait for it to finish")
            return
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RetrainBusy(f"another retrain is running ({holder(self.path) or 'holder unknown'}); wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._pg is not None:
            self._pg.release()
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RetrainLock:
        self.acquire()
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.release()


def _check_target(target: str | Path) -> None:
    if is_url(target) and not is_postgres(target):
        raise ConfigError(f"drift.retrain.lock_url must be a postgresql:// URL, got {str(target).split('://')[0]}://...")


def lock_target(state_dir: str | Path, lock_url: str | None) -> str | Path:
    """Where the retrain lock lives: `drift.retrain.lock_url` if set, else the lock file in the state folder."""
    return lock_url or Path(state_dir) / LOCK_FILE


def holder(path: str | Path) -> str | None:
    """Who holds the lock ("pid 123 on host since ..."); informative only, the lock itself decides."""
    if is_url(path):
        _check_target(path)
        return pg_holder(str(path))
    try:
        info = json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        return None
    if "pid" not in info:
        return None
    return f"pid {info['pid']} on {info.get('host', '?')} since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(info.get('since', 0)))}"


def is_locked(path: str | Path) -> bool:
    """True while some process holds the lock (probes with a non-blocking shared lock, or reads pg_locks)."""
    if is_url(path):
        _check_target(path)
        return pg_is_locked(str(path))
    path = Path(path)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe lock
    return False
