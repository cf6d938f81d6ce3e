"""Feedback retention and deletion on the PostgreSQL store replicas share (the same SQL as SQLite, checked for real)."""

from __future__ import annotations

import time

from sftops.feedback import FeedbackStore


def test_put_ids_delete_and_purge_across_replicas(feedback_url: str) -> None:
    a, b = FeedbackStore(feedback_url), FeedbackStore(feedback_url)
    try:
        old, stored = a.put("old text", "negative")
        assert stored and b.put("old text", "negative") == (old, False)  # another replica gets the same row id
        time.sleep(0.01)
        cutoff = time.time()
        time.sleep(0.01)
        keep, _ = b.put("fresh text", "positive")
        gone, _ = a.put("delete me", "neutral")
        assert a.purge_older_than(cutoff) == 1
        assert b.delete(ids=[gone]) == 1
        assert a.delete(texts=["fresh text"], ids=[old]) == 1  # `old` already purged
        assert a.export() == b.export() == []
        assert keep not in (old, gone)
    finally:
        a.close()
        b.close()
