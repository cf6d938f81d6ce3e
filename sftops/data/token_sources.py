"""Load token-classification sources (CoNLL files, JSON Lines, Parquet, datasets folders, Hub datasets) as tagged sentences.

The builtin `builtin:ner-tweets` is a CoNLL-style file. A DatasetDict folder's splits are pooled, each
row's split name in a `split` column, so `data.split_column: split` keeps them. Tables hold a token list and a tag list per row
(`data.tokens_column`, `data.tags_column`); a datasets folder's ClassLabel tag ids become their names.
Extra sources (retrain's feedback) are untrusted: a row or line that cannot be read is skipped and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import DataConfig
from ..defaults import BUILTIN_TWEETS
from ..exceptions import DataError
from .conll import SUFFIXES, parse_conll
from .encoding import decode_bytes
from .hub import load_hub_splits
from .sources import (
    _read_text_table,
    _read_text_table_leniently,
    apply_split_column,
    expand_pattern,
    given_sources,
    pooled_splits,
    resolve_source,
)

_TABLES = (".jsonl", ".json", ".parquet", ".pq")


@dataclass(frozen=True)
class RawSentences:
    """Tagged sentences as read, before cleaning."""

    # columns: tokens (list[str]), tags (list[str], as written: any scheme, maybe invalid), extra (bool: from
    # data.extra_sources), split (str: the split the dataset gives the row, "" when the hash chooses)
    frame: pd.DataFrame
    source: str
    fallback_lines: int = 0  # lines decoded with the fallback encoding
    malformed_lines: int = 0  # CoNLL lines without a token and a tag (skipped)
    malformed_rows: int = 0  # table rows whose tokens/tags are not two lists of one length (skipped)
    extra_malformed_rows: int = 0  # of those, rows of extra sources
    unparsable: int = 0  # rows of an extra source that could not be parsed at all (skipped)
    unknown_split: int = 0  # rows whose data.split_column value is in no data.split_values list (skipped)


def load_sentences(cfg: DataConfig) -> RawSentences:
    """Read `data.source` (each given split's file) and each of `data.extra_sources` into one frame of sentences."""
    if cfg.hub_source is not None:
        frames, snapshot = load_hub_splits(cfg)  # ClassLabel tag ids already turned into their names
        name = f"{cfg.hub_source.name} @ {snapshot.revision[:12]}"
        parts = [_from_table(frame, None, f"{name} [{split}]", cfg, extra=False, split=split, source=name)
                 for split, frame in frames.items()]
    else:
        parts = [_load_one(source, cfg, split=split) for source, split in given_sources(cfg)]
    parts += [_load_one(str(path), cfg, extra=True) for pattern in cfg.extra_sources for path in expand_pattern(pattern)]
    return RawSentences(
        pd.concat([p.frame for p in parts], ignore_index=True),
        source=" + ".join(dict.fromkeys(p.source for p in parts)),  # a Hub dataset's splits: one name
        fallback_lines=sum(p.fallback_lines for p in parts),
        malformed_lines=sum(p.malformed_lines for p in parts),
        malformed_rows=sum(p.malformed_rows for p in parts),
        extra_malformed_rows=sum(p.extra_malformed_rows for p in parts),
        unparsable=sum(p.unparsable for p in parts),
        unknown_split=sum(p.unknown_split for p in parts),
    )


def _frame(tokens: list[list[str]], tags: list[list[str]], *, extra: bool, split: Sequence[str] | str) -> pd.DataFrame:
    return pd.DataFrame({"tokens": pd.Series(tokens, dtype=object), "tags": pd.Series(tags, dtype=object),
                         "extra": extra, "split": split})


def _load_one(source: str, cfg: DataConfig, *, extra: bool = False, split: str = "") -> RawSentences:
    key = "data.extra_sources" if extra else "data.source"
    path = resolve_source(source, key)
    if source == BUILTIN_TWEETS:
        raise DataError(f"{key}: {source} is a classification dataset; use builtin:ner-tweets or set task: classification")
    suffix = path.suffix.lower()
    if path.is_dir():
        table, names = _read_datasets_folder(path, cfg)
    elif suffix in _TABLES:
        table, names = _read_table(path, suffix, cfg, extra=extra), None
        if isinstance(table, RawSentences):  # an extra source with nothing readable
            return table
    elif suffix in SUFFIXES:  # CoNLL-style text (builtin:ner-tweets is one)
        raw = path.read_bytes()
        if extra and not raw.strip():
            return RawSentences(_frame([], [], extra=True, split=""), source=source)
        decoded = decode_bytes(raw, cfg.encoding, source=str(path), allow_nul=extra)
        conll = parse_conll(decoded.text)
        if not conll.sentences and not extra:
            raise DataError(f"{path}: no sentences found; a CoNLL file holds `token tag` lines with a blank line between sentences")
        if cfg.split_column is not None and not split and not extra:
            raise DataError(f"{path}: a CoNLL file has no columns for data.split_column; give one file per split in data.source")
        frame = _frame([s[0] for s in conll.sentences], [s[1] for s in conll.sentences], extra=extra, split=split)
        return RawSentences(frame, source=source, fallback_lines=decoded.fallback_lines, malformed_lines=conll.malformed_lines)
    else:
        raise DataError(
            f"{key}: {path} has unsupported type {suffix!r} for token classification; use a CoNLL file "
            f"({', '.join(SUFFIXES)}), .jsonl, .parquet or a datasets folder"
        )
    return _from_table(table, names, path, cfg, extra=extra, split=split, source=source)


def _read_table(path: Path, suffix: str, cfg: DataConfig, *, extra: bool) -> pd.DataFrame | RawSentences:
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            if extra:
                return RawSentences(_frame([], [], extra=True, split=""), source=str(path), unparsable=1)
            raise DataError(f"{path}: unreadable Parquet file ({exc})") from None
    if extra:
        frame, fallback, bad = _read_text_table_leniently(path, ".jsonl", cfg, "cp1252")
        if frame.empty:
            return RawSentences(_frame([], [], extra=True, split=""), source=str(path), fallback_lines=fallback, unparsable=bad)
        frame.attrs.update(fallback_lines=fallback, unparsable=bad)
        return frame
    frame, fallback = _read_text_table(path, ".jsonl", cfg, "cp1252")
    frame.attrs.update(fallback_lines=fallback)
    return frame


def _read_datasets_folder(path: Path, cfg: DataConfig) -> tuple[pd.DataFrame, list[str] | None]:
    """A save_to_disk folder as a frame (a DatasetDict's splits pooled), and the tag names of a ClassLabel tag column."""
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"{path}: not a folder written by datasets' save_to_disk ({exc})") from None
    parts = list(loaded.values()) if isinstance(loaded, datasets.DatasetDict) else [loaded]
    feature = parts[0].features.get(cfg.tags_column) if parts else None
    inner = getattr(feature, "feature", None)  # Sequence(ClassLabel) or [ClassLabel]
    if isinstance(feature, list) and feature:
        inner = feature[0]
    names = list(inner.names) if isinstance(inner, datasets.ClassLabel) else None
    if isinstance(loaded, datasets.DatasetDict):
        return pooled_splits({name: part.to_pandas() for name, part in loaded.items()}), names
    return loaded.to_pandas(), names


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return None


def _from_table(table: pd.DataFrame, names: list[str] | None, path: Path | str, cfg: DataConfig, *, extra: bool, split: str,
                source: str) -> RawSentences:
    """Sentences of a table's token and tag list columns; rows that are not two lists of one length are counted."""
    fallback, unparsable = table.attrs.get("fallback_lines", 0), table.attrs.get("unparsable", 0)
    missing = [c for c in (cfg.tokens_column, cfg.tags_column) if c not in table.columns]
    if missing:
        if extra:  # an untrusted file never fails the stage
            return RawSentences(_frame([], [], extra=True, split=""), source=source, fallback_lines=fallback,
                                unparsable=unparsable + len(table))
        raise DataError(f"{path}: column(s) {missing} not found; columns are {list(table.columns)}; "
                        f"set data.tokens_column / data.tags_column")
    if table.empty and not extra:
        raise DataError(f"{path}: the dataset has no rows")
    table, unknown_split = apply_split_column(table, cfg, path, split=split, extra=extra)
    tokens, tags, given, malformed = [], [], [], 0
    for row_tokens, row_tags, row_split in zip(table[cfg.tokens_column], table[cfg.tags_column], table["split"]):
        words, labels = _as_list(row_tokens), _as_list(row_tags)
        if words is None or labels is None or len(words) != len(labels) or not all(isinstance(w, str) for w in words):
            malformed += 1
            continue
        if names is not None:
            if not all(isinstance(t, (int, np.integer)) and 0 <= t < len(names) for t in labels):
                malformed += 1
                continue
            labels = [names[int(t)] for t in labels]
        elif any(not isinstance(t, str) for t in labels):
            if extra:
                malformed += 1
                continue
            raise DataError(f"{path}: {cfg.tags_column!r} holds tag ids without names; write tag names "
                            f"(B-PER, I-PER, O) or save a datasets folder with a ClassLabel feature")
        tokens.append(words)
        tags.append(labels)
        given.append(row_split)
    if not tokens and not extra:
        raise DataError(f"{path}: no row holds a token list and a tag list of the same length in "
                        f"{cfg.tokens_column!r} / {cfg.tags_column!r}")
    return RawSentences(_frame(tokens, tags, extra=extra, split=given), source=source, fallback_lines=fallback,
                        malformed_rows=malformed, extra_malformed_rows=malformed if extra else 0, unparsable=unparsable,
                        unknown_split=unknown_split)
