"""One retrain at a time across processes and server replicas: an exclusive `flock` on a lock file.

The kernel drops a flock when its last holder dies (even by kill -9), so a crashed retrain
never leaves a stale lock. The pipeline subprocess inherits the descriptor, so the lock is
held until both the retrain and its `dvc repro` are gone. flock holds across processes on one
machine (or one local filesystem); replicas on several machines need a shared lock service
instead, e.g. a PostgreSQL advisory lock on the tracking database.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from ..exceptions import SftopsError


class RetrainBusy(SftopsError):
    """Another retrain holds the lock."""


class RetrainLock:
    """Non-blocking exclusive lock; `with RetrainLock(path):` raises RetrainBusy if another process holds it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def fd(self) -> int:
        """The locked descriptor, to pass to child processes that must keep the lock alive."""
        if self._fd is None:
            raise RuntimeError("lock not held")
        return self._fd

    def acquire(self) -> None:
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
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RetrainLock":
        self.acquire()
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.release()


def holder(path: str | Path) -> str | None:
    """Who wrote the lock file last ("pid 123 on host since ..."); informative only, the flock decides."""
    try:
        info = json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        return None
    if "pid" not in info:
        return None
    return f"pid {info['pid']} on {info.get('host', '?')} since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(info.get('since', 0)))}"


def is_locked(path: str | Path) -> bool:
    """True while some process holds the lock (probes with a non-blocking shared lock)."""
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
