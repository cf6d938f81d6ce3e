"""Labelled feedback from users, kept durably in SQLite (WAL) for drift checks and retraining."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    label TEXT NOT NULL,
    model_version TEXT,
    created REAL NOT NULL,
    UNIQUE (text, label)
)
"""


@dataclass(frozen=True)
class Feedback:
    """One labelled text as stored."""

    id: int
    text: str
    label: str
    model_version: str | None
    created: float


class FeedbackStore:
    """Append-only store of (text, label) pairs; the same pair twice is kept once."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)

    def add(self, text: str, label: str, model_version: str | None = None) -> bool:
        """Store one labelled text; False if the same text with the same label was already stored."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO feedback (text, label, model_version, created) VALUES (?, ?, ?, ?)",
                (text, label, model_version, time.time()),
            )
        return cur.rowcount == 1

    def count_since(self, since: float = 0.0) -> int:
        """How many labelled texts arrived at or after the unix time `since`."""
        with self._lock:
            (n,) = self._conn.execute("SELECT COUNT(*) FROM feedback WHERE created >= ?", (since,)).fetchone()
        return int(n)

    def export(self, since: float = 0.0) -> list[Feedback]:
        """Every labelled text stored at or after `since`, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, text, label, model_version, created FROM feedback WHERE created >= ? ORDER BY id", (since,)
            ).fetchall()
        return [Feedback(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
