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
