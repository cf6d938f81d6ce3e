"""One champion decision at a time: gate, promote and rollback hold this lock while they read, decide and write.

MLflow has no transaction over "read the audit trail and the alias, append an entry, move the
alias", so two decisions at once could take the same audit number or overwrite each other's move.
By default the lock is an exclusive `flock` on `registry.lock_file` (processes on one machine or
one local filesystem); with `registry.lock_url` it is a PostgreSQL session advisory lock (the
retrain lock's machinery, under a key of its own per model), for deciders on several machines.
Both vanish with their holder, even after kill -9, so a crashed decision never blocks the next.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from ..config import RegistryConfig
from ..dburl import redact
from ..exceptions import RegistryError

if TYPE_CHECKING:
    from ..retraining import PgAdvisoryLock

log = logging.getLogger(__name__)

_POLL_S = 0.05


def lock_key(model_name: str) -> int:
    """The PostgreSQL advisory-lock key of `model_name`'s decisions (signed 64-bit, distinct from the retrain lock's)."""
    digest = hashlib.sha256(f"sftops-registry\x00{model_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class DecisionLock:
    """Blocking exclusive lock on one model's champion decisions: `with DecisionLock(...):` waits up to `timeout_s`.

    `target` is a lock file path (flock) or a postgresql:// URL (advisory lock). `shown` is how the
    target appears in messages (a URL without its password).
    """

    def __init__(self, target: str | Path, model_name: str, timeout_s: float = 300.0, shown: str | None = None) -> None:
        self.target = target
        self.model_name = model_name
        self.timeout_s = timeout_s
        self.shown = shown or (redact(target) if isinstance(target, str) and "://" in target else str(target))
        self._fd: int | None = None
        self._pg: PgAdvisoryLock | None = None
        self._depth = 0

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not self._try_acquire():
            if time.monotonic() >= deadline:
                raise RegistryError(
                    f"another champion decision on {self.model_name!r} held the registry lock ({self.shown}) for more "
                    f"than {self.timeout_s:g} s; retry, or raise registry.lock_timeout_s"
                )
            time.sleep(_POLL_S)

    def _try_acquire(self) -> bool:
        if isinstance(self.target, str) and "://" in self.target:
            return self._try_pg(self.target)
        path = Path(self.target)
        if self._fd is None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise RegistryError(f"cannot open the registry lock file {path} ({exc}); check registry.lock_file") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _try_pg(self, url: str) -> bool:
        from ..retraining import LockDatabaseError, PgAdvisoryLock

        if self._pg is None:
            self._pg = PgAdvisoryLock(url, key=lock_key(self.model_name), label="sftops-registry")
        try:
            return self._pg.try_acquire()
        except LockDatabaseError as exc:
            log.warning("registry lock: %s", exc)  # the driver's reason (the URL in it is redacted)
            raise RegistryError(
                f"cannot reach the registry lock database {self.shown}; check registry.lock_url and that PostgreSQL is up"
            ) from None

    def release(self) -> None:
        if self._pg is not None:
            lost = self._pg.lost
            self._pg.release()
            self._pg = None
            if lost:
                log.error("registry lock: %s", lost)
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DecisionLock:
        if self._depth == 0:  # re-entrant within one holder: a decision may call a helper that locks too
            self.acquire()
        self._depth += 1
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.release()


def decision_lock(cfg: RegistryConfig, project_dir: str | Path = ".") -> DecisionLock:
    """The lock `cfg` names: PostgreSQL when registry.lock_url is set, else an flock on registry.lock_file."""
    if cfg.lock_url is not None:
        return DecisionLock(cfg.expanded_lock_url() or cfg.lock_url, cfg.model_name, cfg.lock_timeout_s, shown=redact(cfg.lock_url))
    path = Path(cfg.lock_file)
    return DecisionLock(path if path.is_absolute() else Path(project_dir) / path, cfg.model_name, cfg.lock_timeout_s)
