"""The drift alarm journal: every alarm is an event, pending until a retrain consumes it or the cooldown suppresses it.

It lives in the feedback database (`serve.feedback_db`: a SQLite file, or the PostgreSQL database
that server replicas share), so the server that raised an alarm and the retrain that handles it
(another process, maybe on another machine) read one record. Checks only ever add rows: a later
quiet check cannot cancel an alarm. Every decision is one conditional `UPDATE ... WHERE status =
'pending'`, so two retrains can never both consume one alarm, and the decision (who, when, why)
stays on the row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..dburl import is_url, redact
from ..exceptions import SftopsError
from ..feedback import open_engine  # the same database, opened the same way (WAL, pre-ping)

AlarmStatus = Literal["pending", "consumed", "suppressed"]

_metadata = sa.MetaData()
_table = sa.Table(
    "drift_alarms", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("model_version", sa.Text),
    sa.Column("payload", sa.Text, nullable=False),  # JSON: the drift report that alarmed
    sa.Column("status", sa.Text, nullable=False, index=True),
    sa.Column("decided_at", sa.Double),
    sa.Column("decided_by", sa.Text),  # the retrain that consumed it, or why it was suppressed
    sa.Column("run_id", sa.Text),  # the consuming retrain's MLflow run
    sqlite_autoincrement=True,
)


class AlarmJournalError(SftopsError):
    """The alarm journal (in the feedback database) cannot be read or written."""


@dataclass(frozen=True)
class Alarm:
    """One drift alarm as recorded, with the decision taken on it (none while pending)."""

    id: int
    created_at: float
    model_version: str | None
    payload: dict[str, Any]
    status: AlarmStatus
    decided_at: float | None
    decided_by: str | None
    run_id: str | None

    @property
    def failing(self) -> list[str]:
        """The detectors that alarmed."""
        return [name for name, d in (self.payload.get("detectors") or {}).items() if d.get("alarm")]

    def summary(self) -> dict[str, Any]:
        """The alarm without the full report: what /v1/drift and the retrain's MLflow run show."""
        out = asdict(self)
        del out["payload"]
        return out | {"failing": self.failing}


def _row(row: sa.Row) -> Alarm:
    return Alarm(row.id, row.created_at, row.model_version, json.loads(row.payload), row.status,
                 row.decided_at, row.decided_by, row.run_id)


class AlarmJournal:
    """Record alarms, list pending ones, and decide on them atomically across processes and machines."""

    def __init__(self, location: str | Path) -> None:
        self.location = location
        self._engine = open_engine(location)
        try:
            _metadata.create_all(self._engine, checkfirst=True)
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise self._error("open", exc) from None

    def _error(self, what: str, exc: SQLAlchemyError) -> AlarmJournalError:
        where = redact(str(self.location)) if is_url(self.location) else str(self.location)
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        return AlarmJournalError(
            f"cannot {what} the drift alarm journal in {where} ({type(exc).__name__}: {first}); "
            "check serve.feedback_db and that the database is reachable"
        )

    def record(self, payload: dict[str, Any], *, model_version: str | None, now: float | None = None,
               status: AlarmStatus = "pending", decided_by: str | None = None) -> Alarm:
        """Append an alarm (committed on return); `status='suppressed'` records it together with that decision."""
        now = time.time() if now is None else now
        stored = json.dumps(payload, default=str)
        decided_at = None if status == "pending" else now
        insert = sa.insert(_table).values(created_at=now, model_version=model_version, payload=stored, status=status,
                                          decided_at=decided_at, decided_by=decided_by)
        try:
            with self._engine.begin() as conn:
                new_id = conn.execute(insert.returning(_table.c.id)).scalar_one()
        except SQLAlchemyError as exc:
            raise self._error("write", exc) from None
        return Alarm(int(new_id), now, model_version, json.loads(stored), status, decided_at, decided_by, None)

    def _select(self, query: sa.Select) -> list[Alarm]:
        try:
            with self._engine.connect() as conn:
                return [_row(r) for r in conn.execute(query).all()]
        except SQLAlchemyError as exc:
            raise self._error("read", exc) from None

    def pending(self) -> list[Alarm]:
        """Alarms no retrain has consumed and no cooldown suppressed, oldest first."""
        return self._select(sa.select(_table).where(_table.c.status == "pending").order_by(_table.c.id))

    def get(self, alarm_id: int) -> Alarm | None:
        found = self._select(sa.select(_table).where(_table.c.id == alarm_id))
        return found[0] if found else None

    def last(self) -> Alarm | None:
        """The newest alarm, whatever became of it."""
        found = self._select(sa.select(_table).order_by(_table.c.id.desc()).limit(1))
        return found[0] if found else None

    def pending_count(self) -> int:
        try:
            with self._engine.connect() as conn:
                query = sa.select(sa.func.count()).select_from(_table).where(_table.c.status == "pending")
                return int(conn.execute(query).scalar_one())
        except SQLAlchemyError as exc:
            raise self._error("read", exc) from None

    def _decide(self, ids: Sequence[int], status: AlarmStatus, by: str, now: float | None) -> list[int]:
        if not ids:
            return []
        stmt = (
            sa.update(_table)
            .where(_table.c.id.in_(list(ids)), _table.c.status == "pending")
            .values(status=status, decided_at=time.time() if now is None else now, decided_by=by)
            .returning(_table.c.id)
        )
        try:
            with self._engine.begin() as conn:
                return sorted(int(i) for i in conn.execute(stmt).scalars())
        except SQLAlchemyError as exc:
            raise self._error("update", exc) from None

    def consume_pending(self, *, by: str, now: float | None = None) -> list[Alarm]:
        """Mark every alarm pending now as consumed by `by` (a retrain, under its lock); returns them, oldest first.

        One statement: an alarm recorded since the retrain last looked is taken too, none is taken twice."""
        stmt = (
            sa.update(_table).where(_table.c.status == "pending")
            .values(status="consumed", decided_at=time.time() if now is None else now, decided_by=by)
            .returning(*_table.c)
        )
        try:
            with self._engine.begin() as conn:
                return sorted((_row(r) for r in conn.execute(stmt).all()), key=lambda a: a.id)
        except SQLAlchemyError as exc:
            raise self._error("update", exc) from None

    def consume(self, ids: Sequence[int], *, by: str, now: float | None = None) -> list[int]:
        """Mark these alarms consumed by `by` (a retrain); returns those that were still pending, so now ours."""
        return self._decide(ids, "consumed", by, now)

    def suppress(self, ids: Sequence[int], *, why: str, now: float | None = None) -> list[int]:
        """Mark these alarms suppressed (e.g. by the cooldown), saying why; returns those that were still pending."""
        return self._decide(ids, "suppressed", why, now)

    def attach_run(self, ids: Sequence[int], run_id: str) -> None:
        """Name the MLflow run of the retrain that consumed these alarms."""
        if not ids:
            return
        stmt = sa.update(_table).where(_table.c.id.in_(list(ids)), _table.c.status == "consumed").values(run_id=run_id)
        try:
            with self._engine.begin() as conn:
                conn.execute(stmt)
        except SQLAlchemyError as exc:
            raise self._error("update", exc) from None

    def close(self) -> None:
        self._engine.dispose()


def open_journal(location: str | Path) -> AlarmJournal | None:
    """The journal, or None when the SQLite file does not exist yet (no server ever ran: no alarm to read)."""
    if not is_url(location) and not Path(location).is_file():
        return None
    return AlarmJournal(location)
