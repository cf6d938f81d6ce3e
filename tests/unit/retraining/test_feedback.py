"""Feedback retention and deletion reach the training data: the merged file is a full re-export of the store."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sftops.config import DataConfig
from sftops.data import load_prepared, prepare_dataset
from sftops.feedback import EntityLabel, FeedbackStore, check_entities, entities_label
from sftops.retraining import merge_feedback
from sftops.tagging import split_words
from sftops.testing import make_text_dataset

LABELS = ["negative", "positive"]
DAY = 86400.0


def _backdate(db: Path, text: str, days: float) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE feedback SET created = ? WHERE text = ?", (time.time() - days * DAY, text))


def _store(db: Path, rows: list[tuple[str, str]]) -> None:
    store = FeedbackStore(db)
    for text, label in rows:
        store.add(text, label)
    store.close()


def test_rows_older_than_the_retention_are_left_out_and_purged(tmp_path: Path) -> None:
    db, out = tmp_path / "feedback.db", tmp_path / "fb/feedback.csv"
    _store(db, [("old news here", "negative"), ("recent news here", "positive"), ("brand new one", "negative")])
    _backdate(db, "old news here", 40)
    _backdate(db, "recent news here", 20)
    data = DataConfig(text_column="body", label_column="tag")
    merged = merge_feedback(db, out, data, LABELS, now=time.time() + 1, retention_days=30)
    assert (merged.rows, merged.expired) == (2, 1)
    assert pd.read_csv(out).to_dict("list") == {"body": ["recent news here", "brand new one"], "tag": ["positive", "negative"]}
    store = FeedbackStore(db)
    assert [f.text for f in store.export()] == ["recent news here", "brand new one"]  # deleted from the store too
    store.close()
    kept_all = merge_feedback(db, out, data, LABELS, now=time.time() + 1)  # no retention: nothing expires
    assert (kept_all.rows, kept_all.expired) == (2, 0)


def test_deleted_and_expired_feedback_vanish_from_training_at_the_next_merge(tmp_path: Path) -> None:
    make_text_dataset(120, tuple(LABELS), seed=21).to_csv(tmp_path / "source.csv", index=False)
    cfg = DataConfig(source=str(tmp_path / "source.csv"), text_column="text", label_column="label",
                     extra_sources=[str(tmp_path / "fb/*.csv")])
    db, out = tmp_path / "feedback.db", tmp_path / "fb/feedback.csv"
    feedback = [("please forget me", "negative"), ("i will expire soon", "positive"), ("i stay around", "positive")]
    _store(db, feedback)

    def train_after_merge(**kw) -> set[str]:
        merge_feedback(db, out, cfg, LABELS, now=time.time() + 1, **kw)
        prepare_dataset(cfg, tmp_path / "prepared")
        return set(load_prepared(tmp_path / "prepared").train["text"])

    assert {t for t, _ in feedback} <= train_after_merge(retention_days=30)
    store = FeedbackStore(db)
    assert store.delete(texts=["please forget me"]) == 1  # what the admin endpoint does
    store.close()
    _backdate(db, "i will expire soon", 31)
    train = train_after_merge(retention_days=30)
    assert "please forget me" not in train and "i will expire soon" not in train and "i stay around" in train
    _backdate(db, "i stay around", 31)
    train = train_after_merge(retention_days=30)  # the store is empty now: no stale file is left behind
    assert not out.exists() and not {t for t, _ in feedback} & train


# --- an NER model's feedback: tagged sentences in JSON Lines --------------------------------------------------------
TAGS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
NER_FEEDBACK = [  # (text, entities) as /v1/feedback stores them; odd spacing and an emoji
    ("Ada  Lovelace moved to London 🎉", [EntityLabel(0, 13, "PER"), EntityLabel(23, 29, "LOC")]),
    ("@someone   Alan Turing  was born in Maida Vale !!", [EntityLabel(11, 22, "PER"), EntityLabel(36, 46, "LOC")]),
    ("no entities in this one , just words", []),
]
NER_TAGS = [
    ["B-PER", "I-PER", "O", "O", "B-LOC", "O"],
    ["O", "B-PER", "I-PER", "O", "O", "O", "B-LOC", "I-LOC", "O"],
    ["O"] * 8,
]


def _ner_store(db: Path) -> None:
    _store(db, [(text, entities_label(check_entities(text, entities, ["LOC", "PER"]))) for text, entities in NER_FEEDBACK]
           + [("a classifier's row", "positive"), ("Bob in Rome", '[{"end":3,"start":0,"type":"ORG"}]')])


def test_ner_feedback_is_written_as_tagged_sentences_of_known_types(tmp_path: Path) -> None:
    db, out = tmp_path / "feedback.db", tmp_path / "fb/feedback.jsonl"
    _ner_store(db)
    data = DataConfig(tokens_column="words", tags_column="ner")
    merged = merge_feedback(db, out, data, TAGS, now=time.time() + 1, task="token_classification")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [{"words": text.split(), "ner": tags} for (text, _), tags in zip(NER_FEEDBACK, NER_TAGS)]
    assert (merged.rows, merged.unknown_label) == (3, 2)  # the class label and the unknown type ORG are left out
    everything = merge_feedback(db, out, data, None, now=time.time() + 1, task="token_classification")
    assert (everything.rows, everything.unknown_label) == (4, 1)  # no meta yet: any type, still no class labels


def test_ner_feedback_reaches_the_prepared_training_split_tokenised_as_prepare_tokenises(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    words = ["Paris", "Rome", "Ada", "Bob", "went", "to", "see", "the", "city", "today"]
    with open(tmp_path / "source.jsonl", "w", encoding="utf-8") as f:
        for _ in range(80):
            tokens = list(rng.choice(words, 5))
            tags = ["B-LOC" if t in ("Paris", "Rome") else "B-PER" if t in ("Ada", "Bob") else "O" for t in tokens]
            f.write(json.dumps({"tokens": tokens, "tags": tags}) + "\n")
    cfg = DataConfig(source=str(tmp_path / "source.jsonl"), extra_sources=[str(tmp_path / "fb/*.jsonl")])
    db, out = tmp_path / "feedback.db", tmp_path / "fb/feedback.jsonl"
    _ner_store(db)
    merge_feedback(db, out, cfg, TAGS, now=time.time() + 1, task="token_classification")
    prepare_dataset(cfg, tmp_path / "prepared", task="token_classification")
    train = load_prepared(tmp_path / "prepared").train
    prepared = {text: (list(tokens), list(tags)) for text, tokens, tags in zip(train["text"], train["tokens"], train["tags"])}
    for (text, _), tags in zip(NER_FEEDBACK, NER_TAGS):
        words_of_text = [w.text for w in split_words(text)]
        assert prepared[" ".join(words_of_text)] == (words_of_text, tags)
