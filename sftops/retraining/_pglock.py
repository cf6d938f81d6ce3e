"""The retrain lock for replicas on several machines: a PostgreSQL session-level advisory lock.

The lock lives as long as one dedicated connection: PostgreSQL drops it when that session
ends, also when the holding process dies (even by kill -9), so a crashed retrain never leaves
a stale lock. The connection's application_name says who holds it (shown by `holder`).

The other way round, the holder must notice when its session ends under it (the server
restarted, an admin terminated the backend, the network dropped): then another retrain may
take the lock. TCP keepalives make a dead peer surface as an error, and a watchdog thread asks
pg_locks every `check_every_s` whether our session still holds the lock; `lost` then says why,
and the retrain stops its pipeline.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..dburl import redact, storage_url
from ..exceptions import SftopsError

log = logging.getLogger(__name__)

# one fixed 64-bit key: every sftops retrain sharing this database contends for the same lock
LOCK_KEY = 0x5F7F_0B5E_2E7A_1A01

_HELD = sa.text(
    "SELECT l.pid, a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
    "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND ((l.classid::bigint << 32) | l.objid::bigint) = :key"
)


_MINE = sa.text(
    "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND granted "
    "AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = :key"
)
# libpq TCP keepalives: a peer that vanished without closing the connection fails within about 20 s
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 5, "keepalives_count": 3}


class LockDatabaseError(SftopsError):
    """The database holding the retrain lock cannot be reached."""


def _lock_engine(url: str, application_name: str = "sftops", connect_timeout: int = 10) -> sa.Engine:
    """An engine for one lock session: no pool (the session is the lock), autocommit, TCP keepalives."""
    return sa.create_engine(
        storage_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT",
        connect_args={"application_name": application_name[:63], "connect_timeout": connect_timeout, **_KEEPALIVES},
    )


def _unreachable(url: str, exc: SQLAlchemyError) -> LockDatabaseError:
    return LockDatabaseError(
        f"cannot reach the retrain lock database {redact(url)} ({type(exc).__name__}: {getattr(exc, 'orig', None) or exc}); "
        "check drift.retrain.lock_url and that PostgreSQL is up"
    )


class PgAdvisoryLock:
    """`pg_try_advisory_lock` on a connection of its own, kept open (and watched) until `release`.

    `key` and `label` (the holder's application_name prefix) let another sftops lock (the registry's) reuse this.
    """

    def __init__(self, url: str, check_every_s: float = 5.0, key: int = LOCK_KEY, label: str = "sftops-retrain") -> None:
        self.url = url
        self.key = key
        self.label = label
        self.check_every_s = check_every_s
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None
        self._use = threading.Lock()  # the watchdog and release share the one connection
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._lost: str | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    @property
    def lost(self) -> str | None:
        """Why the lock was lost while held (the session ended); None while it holds."""
        return self._lost

    def try_acquire(self) -> bool:
        """True if we now hold the lock; False if another session holds it."""
        engine = _lock_engine(self.url, f"{self.label} pid {os.getpid()} on {socket.gethostname()}")
        try:
            conn = engine.connect()
            got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar_one())
        except SQLAlchemyError as exc:
            engine.dispose()
            raise _unreachable(self.url, exc) from None
        if not got:
            conn.close()
            engine.dispose()
            return False
        self._engine, self._conn, self._lost = engine, conn, None
        self._stop.clear()
        self._watchdog = threading.Thread(target=self._watch, name="retrain-lock-watchdog", daemon=True)
        self._watchdog.start()
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self.check_every_s):
            with self._use:
                if self._conn is None:
                    return
                try:
                    if self._conn.execute(_MINE, {"key": self.key}).scalar_one():
                        continue
                    reason = "our session no longer holds the advisory lock"
                except SQLAlchemyError as exc:
                    first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
                    reason = f"the session holding it ended ({type(exc).__name__}: {first})"
            self._lost = f"lost the retrain lock in {redact(self.url)}: {reason}"
            log.error("%s", self._lost)
            return

    def release(self) -> None:
        self._stop.set()
        if self._watchdog is not None and self._watchdog is not threading.current_thread():
            self._watchdog.join(timeout=30)
        self._watchdog = None
        with self._use:
            if self._conn is None or self._engine is None:
                return
            try:
                if self._lost is None:
                    self._conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            except SQLAlchemyError as exc:  # the session is gone, and with it the lock
                log.warning("retrain lock: unlock failed (%s); closing the session releases it", exc)
            finally:
                with contextlib.suppress(SQLAlchemyError):
                    self._conn.close()
                self._engine.dispose()
                self._conn = self._engine = None


def _held_by(url: str) -> sa.Row | None:
    engine = _lock_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(_HELD, {"key": LOCK_KEY}).first()
    except SQLAlchemyError as exc:
        raise _unreachable(url, exc) from None
    finally:
        engine.dispose()


def pg_is_locked(url: str) -> bool:
    """True while some session holds the lock (read from pg_locks; takes nothing)."""
    return _held_by(url) is not None


def pg_holder(url: str) -> str | None:
    """Who holds the lock: the holder's application_name ("sftops-retrain pid N on HOST"), client and start time."""
    row = _held_by(url)
    if row is None:
        return None
    pid, app, addr, start = row
    since = f" since {start:%Y-%m-%d %H:%M:%S}" if start else ""
    return f"{app or 'PostgreSQL backend'} (backend pid {pid}{f' from {addr}' if addr else ''}){since}"
