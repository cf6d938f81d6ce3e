"""sftops/feedback.py: durable, deduplicated labelled feedback in SQLite WAL."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sftops.feedback import FeedbackStore


def test_add_dedups_counts_exports_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "fb" / "feedback.db"
    store = FeedbackStore(path)
    assert store.add("great film", "positive", "3") is True
    assert store.add("great film", "positive", "4") is False  # same text and label: kept once
    assert store.add("great film", "neutral") is True  # a different label is a different opinion
    mark = time.time()
    time.sleep(0.01)
    assert store.add("awful", "negative") is True
    assert store.count_since() == 3 and store.count_since(mark) == 1
    store.close()

    reopened = FeedbackStore(path)
    rows = reopened.export()
    assert [(r.text, r.label, r.model_version) for r in rows] == [
        ("great film", "positive", "3"), ("great film", "neutral", None), ("awful", "negative", None)
    ]
    assert [r.text for r in reopened.export(since=mark)] == ["awful"]
    reopened.close()
    (mode,) = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_put_returns_the_row_id_and_delete_removes_by_id_or_text(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.db")
    first, stored = store.put("great film", "positive")
    assert stored is True
    assert store.put("great film", "positive") == (first, False)  # the same pair: the stored row's id
    second, _ = store.put("great film", "negative")
    third, _ = store.put("awful", "negative")
    fourth, _ = store.put("meh", "neutral")
    assert len({first, second, third, fourth}) == 4
    assert store.delete() == 0
    assert store.delete(ids=[third, 999]) == 1
    assert store.delete(texts=["great film", "never stored"]) == 2  # every label of that text
    assert [(r.id, r.text) for r in store.export()] == [(fourth, "meh")]
    assert store.delete(ids=[fourth], texts=["meh"]) == 1
    assert store.export() == []
    store.close()


def test_purge_older_than_deletes_only_rows_before_the_cutoff(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.db")
    store.add("old one", "negative")
    store.add("old two", "positive")
    time.sleep(0.01)
    cutoff = time.time()
    time.sleep(0.01)
    store.add("fresh", "neutral")
    assert store.purge_older_than(cutoff) == 2
    assert [r.text for r in store.export()] == ["fresh"]
    assert store.purge_older_than(cutoff) == 0
    store.close()


def test_the_alarm_journal_opens_the_feedback_database_through_its_public_engine(tmp_path: Path) -> None:
    import pytest
    import sqlalchemy as sa

    from sftops.exceptions import ConfigError
    from sftops.feedback import open_engine
    from sftops.retraining import AlarmJournal

    path = tmp_path / "new" / "feedback.db"
    engine = open_engine(path)  # creates the folder; SQLite in WAL mode, as the store uses it
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
    engine.dispose()
    store, journal = FeedbackStore(path), AlarmJournal(path)
    store.add("great film", "positive")
    alarm = journal.record({"detectors": {}}, model_version="3")
    assert [a.id for a in journal.pending()] == [alarm.id] and store.count_since() == 1
    assert {"feedback", "drift_alarms"} <= set(sa.inspect(journal._engine).get_table_names())
    store.close()
    journal.close()
    with pytest.raises(ConfigError, match=r"serve\.feedback_db must be a file path or a postgresql:// URL"):
        open_engine("mysql://user:pw@host/db")
