"""Turn the server's labelled feedback into a dataset file the prepare stage reads (`data.extra_sources`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..atomic import atomic_path
from ..config import DataConfig
from ..dburl import is_url
from ..feedback import FeedbackStore

log = logging.getLogger(__name__)


_DAY_S = 86400.0


@dataclass(frozen=True)
class MergedFeedback:
    """What went into the feedback file: rows written, rows refused for an unknown label, the time cut-off,
    and rows deleted from the store for being older than serve.feedback_retention_days."""

    path: Path
    rows: int
    unknown_label: int
    cutoff: float
    expired: int = 0


def _exists(db: str | Path) -> bool:
    return is_url(db) or Path(db).is_file()


def count_new_feedback(db: str | Path, since: float) -> int:
    """Labelled texts stored at or after `since` (0 when the SQLite file does not exist yet); `db` may be a URL."""
    if not _exists(db):
        return 0
    store = FeedbackStore(db)
    try:
        return store.count_since(since)
    finally:
        store.close()


def merge_feedback(
    db: str | Path, out: str | Path, data: DataConfig, labels: list[str] | None, *, now: float,
    retention_days: float | None = None,
) -> MergedFeedback:
    """Write every stored feedback row (oldest first) as a CSV with the dataset's column names, atomically.

    The file is a full re-export of the store, so a row deleted from the store (by an admin, or
    expired: older than `retention_days`, which are purged from the store here too) is gone from
    the next training data; its content (and DVC's hash of it) changes only when the store does.
    Dedup across sources and checking each row is the prepare stage's job (extra sources are untrusted).
    """
    rows: list[tuple[str, str]] = []
    expired = 0
    since = 0.0 if retention_days is None else now - retention_days * _DAY_S
    if _exists(db):
        store = FeedbackStore(db)
        try:
            if retention_days is not None:
                expired = store.purge_older_than(since)
            rows = [(f.text, f.label) for f in store.export(since) if f.created < now]
        finally:
            store.close()
    known = set(labels) if labels else None
    kept = [(text, label) for text, label in rows if known is None or label in known]
    if kept:
        frame = pd.DataFrame(kept, columns=[data.text_column, data.label_column])
        with atomic_path(out) as tmp:
            frame.to_csv(tmp, index=False)
    else:  # no file rather than an empty one; and no stale file: deleted feedback must not be trained on
        Path(out).unlink(missing_ok=True)
    if expired:
        log.info("feedback: %d rows older than %g days deleted from the store", expired, retention_days)
    if len(rows) != len(kept):
        log.warning("feedback: %d rows with a label outside %s were left out", len(rows) - len(kept), sorted(known or []))
    log.info("feedback: %d labelled texts written to %s", len(kept), out)
    return MergedFeedback(Path(out), len(kept), len(rows) - len(kept), now, expired)
