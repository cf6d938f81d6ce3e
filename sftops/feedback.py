"""Labelled feedback from users, kept durably for drift checks and retraining.

The store is a SQLite file (WAL mode) for one machine, or a PostgreSQL database (a
`postgresql://` URL) that server replicas on several machines share. One SQLAlchemy Core
code path serves both; the unique (text, label) constraint makes the same pair stored once.

An NER model's feedback is a text with its entities (character spans and types). They are
checked against the text's words (`sftops.tagging.split_words`, the split prepare and the
server use), snapped to whole words, and stored as canonical JSON in the label column
(`entities_label`), so the same corrected text is stored once and old stores need no migration.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .dburl import is_postgres, is_url, redact, storage_url
from .exceptions import ConfigError, DataError, SftopsError
from .tagging import Span, split_words, tags_of, words_in

_metadata = sa.MetaData()
_table = sa.Table(
    "feedback", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("model_version", sa.Text),
    sa.Column("created", sa.Double, nullable=False, index=True),
    sa.UniqueConstraint("text", "label", name="feedback_text_label_key"),
    sqlite_autoincrement=True,
)


class FeedbackStoreError(SftopsError):
    """The feedback database cannot be opened or written."""


@dataclass(frozen=True)
class Feedback:
    """One labelled text as stored."""

    id: int
    text: str
    label: str
    model_version: str | None
    created: float


@dataclass(frozen=True, order=True)
class EntityLabel:
    """One entity of a feedback text: characters `start`..`end` (end exclusive) of the text, and its type."""

    start: int
    end: int
    type: str


def check_entities(text: str, entities: Iterable[EntityLabel], types: Collection[str]) -> list[EntityLabel]:
    """The entities of `text` snapped to whole words and sorted, or a DataError saying in one line what is wrong.

    Every span must lie inside the text (start < end), name one of `types`, cover at least one word
    (not only whitespace), and share neither characters nor a word with another span: the training
    data tags whole words, so a span over part of a word stands for that word.
    """
    words = split_words(text)
    snapped: list[tuple[EntityLabel, EntityLabel, tuple[int, int]]] = []
    for entity in entities:
        where = f"entity {entity.start}:{entity.end}"
        if not 0 <= entity.start < entity.end <= len(text):
            raise DataError(f"{where} is not a span of the text ({len(text)} characters): need 0 <= start < end <= length")
        if entity.type not in types:
            raise DataError(f"{where} has type {entity.type!r}, not one of the model's entity types {sorted(types)}")
        covered = words_in(words, entity.start, entity.end)
        if covered is None:
            raise DataError(f"{where} ({text[entity.start:entity.end]!r}) holds no word, only whitespace")
        first, last = words[covered[0]], words[covered[1] - 1]
        snapped.append((entity, EntityLabel(first.start, last.end, entity.type), covered))
    snapped.sort(key=lambda item: (item[0].start, item[0].end))
    for (a, _, a_words), (b, _, b_words) in pairwise(snapped):
        if b.start < a.end:
            raise DataError(f"entities {a.start}:{a.end} and {b.start}:{b.end} overlap; send each character in one entity at most")
        if b_words[0] < a_words[1]:
            word = words[b_words[0]].text
            raise DataError(f"entities {a.start}:{a.end} and {b.start}:{b.end} fall in the same word {word!r}; "
                            "an entity is whole words")
    return [entity for _, entity, _ in snapped]


def entities_label(entities: Iterable[EntityLabel]) -> str:
    """The stored label of a text's entities: canonical JSON (sorted spans, sorted keys, no spaces); '[]' for none."""
    rows = [{"end": e.end, "start": e.start, "type": e.type} for e in sorted(entities)]
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


def parse_entities_label(label: str) -> list[EntityLabel] | None:
    """The entities of a label `entities_label` wrote; None for any other label (e.g. a classifier's class)."""
    if not label.startswith("["):
        return None
    try:
        rows = json.loads(label)
        entities = [EntityLabel(int(r["start"]), int(r["end"]), str(r["type"])) for r in rows]
    except (ValueError, TypeError, KeyError):
        return None
    return entities


def tagged_sentence(text: str, entities: Iterable[EntityLabel]) -> tuple[list[str], list[str]]:
    """(tokens, IOB2 tags) of a feedback text, tokenised as prepare tokenises (`split_words`).

    Raises ValueError when the entities overlap at word level (`check_entities` refuses those first).
    """
    words = split_words(text)
    spans = []
    for entity in entities:
        covered = words_in(words, entity.start, entity.end)
        if covered is None:
            raise ValueError(f"entity {entity.start}:{entity.end} holds no word of the text")
        spans.append(Span(entity.type, *covered))
    return [w.text for w in words], tags_of(len(words), spans)


def open_engine(location: str | Path) -> sa.Engine:
    """A SQLAlchemy engine on the feedback database (a SQLite file in WAL mode, or a postgresql:// URL with pre-ping).

    Other tables that live in the same database (the drift alarm journal) open it through this too.

    Raises:
        ConfigError: `location` is a URL of another database than PostgreSQL.
    """
    if is_url(location):
        if not is_postgres(location):
            raise ConfigError(f"serve.feedback_db must be a file path or a postgresql:// URL, got {redact(str(location))}")
        return sa.create_engine(storage_url(str(location)), pool_pre_ping=True)
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _wal(dbapi_conn: Any, _record: Any) -> None:  # a DB-API connection (sqlite3), untyped in SQLAlchemy
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    return engine


class FeedbackStore:
    """Store of (text, label) pairs; the same pair twice is kept once, across all replicas sharing it.

    Rows are only ever added, except by retention (`purge_older_than`) and an admin's `delete`.
    """

    def __init__(self, location: str | Path) -> None:
        self.location = location
        self._engine = open_engine(location)
        self._insert = (postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert)(_table)
        try:
            _metadata.create_all(self._engine, checkfirst=True)
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise FeedbackStoreError(
                f"cannot open the feedback store {self._where()}: {exc.__class__.__name__}: {getattr(exc, 'orig', None) or exc}; "
                "check serve.feedback_db and that the database is reachable"
            ) from None

    def _where(self) -> str:
        return redact(str(self.location)) if is_url(self.location) else str(self.location)

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for a database server."""
        return None if is_url(self.location) else Path(self.location)

    def add(self, text: str, label: str, model_version: str | None = None) -> bool:
        """Store one labelled text (committed on return); False if the same text with the same label was already stored."""
        return self.put(text, label, model_version)[1]

    def put(self, text: str, label: str, model_version: str | None = None) -> tuple[int, bool]:
        """Store one labelled text (committed on return): its row id, and False if the pair was already stored.

        The id lets a client ask an admin to delete the row later (`delete(ids=...)`).
        """
        values = self._insert.values(text=text, label=label, model_version=model_version, created=time.time())
        insert = values.on_conflict_do_nothing(index_elements=["text", "label"]).returning(_table.c.id)
        stored = sa.select(_table.c.id).where(_table.c.text == text, _table.c.label == label)
        while True:  # a second round only if the row was deleted between the two statements
            with self._engine.begin() as conn:
                new_id = conn.execute(insert).scalar_one_or_none()
                if new_id is not None:
                    return int(new_id), True
                old_id = conn.execute(stored).scalar_one_or_none()
            if old_id is not None:
                return int(old_id), False

    def purge_older_than(self, cutoff: float) -> int:
        """Delete every row stored before the unix time `cutoff` (retention); how many were deleted."""
        with self._engine.begin() as conn:
            result = conn.execute(sa.delete(_table).where(_table.c.created < cutoff))
        return int(result.rowcount)

    def delete(self, *, ids: Sequence[int] = (), texts: Sequence[str] = ()) -> int:
        """Delete the rows with these ids and every row (any label) with one of these texts; how many were deleted."""
        if not ids and not texts:
            return 0
        condition = sa.or_(_table.c.id.in_(list(ids)), _table.c.text.in_(list(texts)))
        with self._engine.begin() as conn:
            result = conn.execute(sa.delete(_table).where(condition))
        return int(result.rowcount)

    def count_since(self, since: float = 0.0) -> int:
        """How many labelled texts arrived at or after the unix time `since`."""
        with self._engine.connect() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(_table).where(_table.c.created >= since)).scalar_one()
        return int(n)

    def export(self, since: float = 0.0) -> list[Feedback]:
        """Every labelled text stored at or after `since`, oldest first."""
        query = sa.select(_table.c.id, _table.c.text, _table.c.label, _table.c.model_version, _table.c.created)
        with self._engine.connect() as conn:
            rows = conn.execute(query.where(_table.c.created >= since).order_by(_table.c.id)).all()
        return [Feedback(*row) for row in rows]

    def close(self) -> None:
        self._engine.dispose()
