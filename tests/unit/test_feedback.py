"""sftops/feedback.py: durable, deduplicated labelled feedback in SQLite WAL."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest

from sftops.exceptions import DataError
from sftops.feedback import (
    EntityLabel,
    FeedbackStore,
    check_entities,
    entities_label,
    parse_entities_label,
    tagged_sentence,
)


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


# --- an NER model's feedback: entities of a text ----------------------------------------------------------------------
TYPES = ("LOC", "PER")


@pytest.mark.parametrize(
    ("entities", "message"),
    [
        ([EntityLabel(5, 3, "PER")], "entity 5:3 is not a span of the text (25 characters)"),
        ([EntityLabel(20, 40, "LOC")], "entity 20:40 is not a span of the text"),
        ([EntityLabel(0, 3, "ORG")], "entity 0:3 has type 'ORG', not one of the model's entity types ['LOC', 'PER']"),
        ([EntityLabel(3, 5, "PER")], "entity 3:5 ('  ') holds no word, only whitespace"),
        ([EntityLabel(0, 13, "PER"), EntityLabel(5, 20, "LOC")], "entities 0:13 and 5:20 overlap"),
        ([EntityLabel(19, 25, "LOC"), EntityLabel(0, 3, "PER"), EntityLabel(14, 16, "LOC"), EntityLabel(17, 18, "LOC")],
         "entities 14:16 and 17:18 fall in the same word 'in-a'; an entity is whole words"),
    ],
)
def test_entities_are_refused_with_one_line_saying_why(entities: list[EntityLabel], message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)) as caught:
        check_entities("Ada  Lovelace in-a London", entities, TYPES)  # 25 characters
    assert "\n" not in str(caught.value)


def test_entities_are_snapped_to_whole_words_sorted_and_stored_canonically() -> None:
    text = "Ada  Lovelace moved to London 🎉"
    checked = check_entities(text, [EntityLabel(23, 27, "LOC"), EntityLabel(1, 13, "PER")], TYPES)
    assert checked == [EntityLabel(0, 13, "PER"), EntityLabel(23, 29, "LOC")]  # "Lond" stands for "London"
    label = entities_label(checked)
    assert label == '[{"end":13,"start":0,"type":"PER"},{"end":29,"start":23,"type":"LOC"}]'
    assert parse_entities_label(label) == checked
    assert entities_label([]) == "[]" and parse_entities_label("[]") == []
    assert parse_entities_label("positive") is None and parse_entities_label("[not json") is None
    assert tagged_sentence(text, checked) == (["Ada", "Lovelace", "moved", "to", "London", "🎉"],
                                              ["B-PER", "I-PER", "O", "O", "B-LOC", "O"])


def test_the_same_corrected_entities_are_stored_once(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.db")
    text = "Ada  Lovelace moved to London"
    label = entities_label(check_entities(text, [EntityLabel(0, 13, "PER"), EntityLabel(23, 29, "LOC")], TYPES))
    first = store.put(text, label, "1")
    # the same entities sent in another order, one over part of its word: the same stored label
    again = store.put(text, entities_label(check_entities(text, [EntityLabel(23, 26, "LOC"), EntityLabel(0, 13, "PER")],
                                                          TYPES)), "2")
    other = store.put(text, entities_label(check_entities(text, [EntityLabel(0, 13, "PER")], TYPES)), "2")
    assert first == (first[0], True) and again == (first[0], False) and other[1] is True and other[0] != first[0]
    assert store.count_since() == 2
    store.close()
