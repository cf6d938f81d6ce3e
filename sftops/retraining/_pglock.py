"""The retrain lock for replicas on several machines: a PostgreSQL session-level advisory lock.

The lock lives as long as one dedicated connection: PostgreSQL drops it when that session
ends, also when the holding process dies (even by kill -9), so a crashed retrain never leaves
a stale lock. The connection's application_name says who holds it (shown by `holder`).
"""

from __future__ import annotations

import logging
import os
import socket

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


class LockDatabaseError(SftopsError):
    """The database holding the retrain lock cannot be reached."""


def _engine(url: str, application_name: str = "sftops") -> sa.Engine:
    return sa.create_engine(
        storage_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT",
        connect_args={"application_name": application_name[:63], "connect_timeout": 10},
    )


def _unreachable(url: str, exc: SQLAlchemyError) -> LockDatabaseError:
    return LockDatabaseError(
        f"cannot reach the retrain lock database {redact(url)} ({type(exc).__name__}: {getattr(exc, 'orig', None) or exc}); "
        "check drift.retrain.lock_url and that PostgreSQL is up"
    )


class PgAdvisoryLock:
    """`pg_try_advisory_lock` on a connection of its own, kept open until `release`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: sa.Engine | None = None
        self._conn: sa.Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        """True if we now hold the lock; False if another session holds it."""
        engine = _engine(self.url, f"sftops-retrain pid {os.getpid()} on {socket.gethostname()}")
        try:
            conn = engine.connect()
            got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar_one())
        except SQLAlchemyError as exc:
            engine.dispose()
            raise _unreachable(self.url, exc) from None
        if not got:
            conn.close()
            engine.dispose()
            return False
        self._engine, self._conn = engine, conn
        return True

    def release(self) -> None:
        if self._conn is None or self._engine is None:
            return
        try:
            self._conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        except SQLAlchemyError as exc:  # the session is gone, and with it the lock
            log.warning("retrain lock: unlock failed (%s); closing the session releases it", exc)
        finally:
            self._conn.close()
            self._engine.dispose()
            self._conn = self._engine = None


def _held_by(url: str) -> sa.Row | None:
    engine = _engine(url)
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
