"""Turn the server's labelled feedback into a dataset file the prepare stage reads (`data.extra_sources`).

A classifier's feedback becomes a CSV (text and label columns); an NER model's becomes JSON Lines of
tagged sentences ({tokens_column: [...], tags_column: [...]}), tokenised as prepare tokenises.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from ..atomic import atomic_path
from ..config import DataConfig
from ..dburl import is_url
from ..feedback import FeedbackStore, parse_entities_label, tagged_sentence
from ..tagging import entity_types

log = logging.getLogger(__name__)


_DAY_S = 86400.0


@dataclass(frozen=True)
class MergedFeedback:
    """What went into the feedback file: rows written, rows refused for an unknown label (NER: not entities, or an
    unknown entity type), the time cut-off, and rows deleted from the store for being older than
    serve.feedback_retention_days."""

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
    retention_days: float | None = None, task: Literal["classification", "token_classification"] = "classification",
) -> MergedFeedback:
    """Write every stored feedback row (oldest first) as the dataset file prepare reads, atomically.

    Classification: a CSV with the dataset's text and label columns. Token classification: JSON Lines,
    one tagged sentence per row, under data.tokens_column / data.tags_column: the text's words as
    `sftops.tagging.split_words` splits them and their IOB2 tags. `labels`: the prepared data's label
    names (meta.json's label_map: classes, or an NER dataset's tag names, whose entity types a row must
    use); None takes every row.

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
    if task == "token_classification":
        known = set(entity_types(labels)) if labels else None
        sentences = _tagged(rows, known)
        kept = len(sentences)
        content = "".join(json.dumps({data.tokens_column: tokens, data.tags_column: tags}, ensure_ascii=False) + "\n"
                          for tokens, tags in sentences)
    else:
        known = set(labels) if labels else None
        pairs = [(text, label) for text, label in rows if known is None or label in known]
        kept = len(pairs)
        content = pd.DataFrame(pairs, columns=[data.text_column, data.label_column]).to_csv(index=False) if pairs else ""
    if content:
        with atomic_path(out) as tmp:
            tmp.write_text(content, encoding="utf-8")
    else:  # no file rather than an empty one; and no stale file: deleted feedback must not be trained on
        Path(out).unlink(missing_ok=True)
    if expired:
        log.info("feedback: %d rows older than %g days deleted from the store", expired, retention_days)
    if len(rows) != kept:
        what = "entity types" if task == "token_classification" else "labels"
        log.warning("feedback: %d rows with %s outside %s were left out", len(rows) - kept, what, sorted(known or []))
    log.info("feedback: %d labelled texts written to %s", kept, out)
    return MergedFeedback(Path(out), kept, len(rows) - kept, now, expired)


def _tagged(rows: list[tuple[str, str]], known: set[str] | None) -> list[tuple[list[str], list[str]]]:
    """The (tokens, tags) of every row whose label is entities of known types (another task's rows are left out)."""
    sentences = []
    for text, label in rows:
        entities = parse_entities_label(label)
        if entities is None or (known is not None and any(e.type not in known for e in entities)):
            continue
        try:
            sentences.append(tagged_sentence(text, entities))
        except ValueError:  # the server refuses such entities; a row written some other way is left out
            continue
    return sentences
