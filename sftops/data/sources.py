"""Load a dataset source (the builtin tweets, CSV, JSON Lines, Parquet, a datasets folder, a Hub dataset) as strings.

A dataset may come split: one source per split (`data.source: {train, validation, test}`) or a split
column (`data.split_column`); each row then carries its given split, which `split.py` keeps.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import DataConfig, SplitSources
from ..defaults import BUILTIN_TWEETS, builtin_data_file, is_builtin_data
from ..exceptions import DataError
from .encoding import decode_bytes
from .hub import load_hub_splits

_EMPTY = pd.DataFrame({"text": pd.Series(dtype=str), "label": pd.Series(dtype=str),
                       "mojibake": pd.Series(dtype=bool), "extra": pd.Series(dtype=bool), "split": pd.Series(dtype=str)})


@dataclass(frozen=True)
class RawData:
    """Texts and labels as read, before cleaning."""

    # columns: text, label (str; label may be empty), mojibake (bool: apply the builtin
    # corpus's known repairs to this row), extra (bool: the row came from data.extra_sources), split (str: the
    # split the dataset gives the row, "" when the split is the text hash's to choose)
    frame: pd.DataFrame
    source: str
    fallback_lines: int  # lines decoded with the fallback encoding
    unparsable: int = 0  # rows of an extra source that could not be parsed (skipped, not in `frame`)
    unknown_split: int = 0  # rows whose data.split_column value is in no data.split_values list (skipped)


def _read_text_table(path: Path, suffix: str, cfg: DataConfig, fallback: str) -> tuple[pd.DataFrame, int]:
    decoded = decode_bytes(path.read_bytes(), cfg.encoding, fallback=fallback, source=str(path))
    buffer = io.StringIO(decoded.text)
    try:
        if suffix == ".csv":
            frame = pd.read_csv(buffer, dtype=str, keep_default_na=False, skipinitialspace=False)
        else:
            frame = pd.read_json(buffer, lines=True, dtype=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        kind = "CSV" if suffix == ".csv" else "JSON Lines"
        raise DataError(f"{path}: malformed {kind} ({str(exc).splitlines()[0]}); fix the file or convert it") from None
    return frame, decoded.fallback_lines


def _read_text_table_leniently(path: Path, suffix: str, cfg: DataConfig, fallback: str) -> tuple[pd.DataFrame, int, int]:
    """Like `_read_text_table`, for untrusted files: a row that does not parse is skipped and counted, not fatal.

    Returns (frame, fallback lines, unparsable rows). NUL bytes are kept (their rows are dropped by cleaning).
    """
    raw = path.read_bytes()
    if not raw.strip():
        return pd.DataFrame(), 0, 0
    decoded = decode_bytes(raw, cfg.encoding, fallback=fallback, source=str(path), allow_nul=True)
    bad = 0
    if suffix == ".csv":
        rows = [r for r in csv.reader(io.StringIO(decoded.text, newline="")) if r]
        header, records = (rows[0], rows[1:]) if rows else ([], [])
        good = [r for r in records if len(r) == len(header)]
        bad = len(records) - len(good)
        frame = pd.DataFrame(good, columns=header, dtype=str)
    else:
        objects = []
        for line in decoded.text.splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                objects.append(obj)
            else:
                bad += 1
        frame = pd.DataFrame(objects)
    return frame, decoded.fallback_lines, bad


def _read_datasets_folder(path: Path) -> pd.DataFrame:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"{path}: not a folder written by datasets' save_to_disk ({exc})") from None
    if isinstance(loaded, datasets.DatasetDict):  # pooled; `data.split_column: split` keeps the dict's own splits
        return pooled_splits({name: part.to_pandas() for name, part in loaded.items()})
    return loaded.to_pandas()


def pooled_splits(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A DatasetDict's splits as one frame, each row's split name in a `split` column (unless the data has one)."""
    frames = [frame if "split" in frame.columns else frame.assign(split=name) for name, frame in parts.items()]
    return pd.concat(frames, ignore_index=True)


def given_sources(cfg: DataConfig) -> list[tuple[str, str]]:
    """(source, split) for each file `data.source` names; split is "" for a single source (split by hash or column).

    A Hub dataset names no file: it is read by `load_hub_splits`, and this returns []."""
    if cfg.hub_source is not None:
        return []
    if isinstance(cfg.source, SplitSources):
        return [(path, split) for split, path in cfg.source if path is not None]
    assert isinstance(cfg.source, str)
    return [(cfg.source, "")]


def map_split_column(values: pd.Series, cfg: DataConfig) -> pd.Series:
    """`data.split_column` values as split names via `data.split_values` (case and outer spaces aside); "" when unknown."""
    lookup = {v.strip().lower(): split for split, listed in cfg.split_values.items() for v in listed}
    return values.map(lambda v: lookup.get(str(v).strip().lower(), "") if v is not None else "")


def load_source(cfg: DataConfig) -> RawData:
    """Read `data.source` (each split's file when it names several), then each of `data.extra_sources`, into one frame."""
    if cfg.hub_source is not None:
        frames, snapshot = load_hub_splits(cfg)
        name = f"{cfg.hub_source.name} @ {snapshot.revision[:12]}"
        parts = [_raw_from_frame(frame, name, f"{name} [{split}]", cfg, extra=False, split=split)
                 for split, frame in frames.items()]
    else:
        parts = [_load_one(source, cfg, split=split) for source, split in given_sources(cfg)]
    parts += [_load_one(str(path), cfg, extra=True) for pattern in cfg.extra_sources for path in expand_pattern(pattern)]
    if len(parts) == 1:
        return parts[0]
    return RawData(
        pd.concat([p.frame for p in parts], ignore_index=True),
        source=" + ".join(dict.fromkeys(p.source for p in parts)),  # a Hub dataset's splits: one name
        fallback_lines=sum(p.fallback_lines for p in parts),
        unparsable=sum(p.unparsable for p in parts),
        unknown_split=sum(p.unknown_split for p in parts),
    )


def expand_pattern(pattern: str) -> list[Path]:
    """An extra source's files: a glob pattern's matches (possibly none), or the path itself (which must then exist)."""
    if glob.has_magic(pattern):
        return sorted(Path(p) for p in glob.glob(os.path.expanduser(pattern)))
    return [Path(pattern).expanduser()]


def resolve_source(source: str, key: str = "data.source") -> Path:
    """The file or folder a source names: a builtin dataset's file, or the user's path (relative to the working folder).

    Raises DataError when the path does not exist (`key` names the params key in the message).
    """
    if is_builtin_data(source):
        return builtin_data_file(source)
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{key}: {path} does not exist; give a CSV, JSON Lines, Parquet or CoNLL file or a datasets folder")
    return path


def _load_one(source: str, cfg: DataConfig, *, extra: bool = False, split: str = "") -> RawData:
    """Read one source into a frame with `text` and `label` string columns; `split`: the split this file is.

    An `extra` source is untrusted (e.g. merged feedback): rows that do not parse are skipped and counted.
    """
    path = resolve_source(source, "data.extra_sources" if extra else "data.source")
    if is_builtin_data(source) and source != BUILTIN_TWEETS:
        raise DataError(f"data.source: {source} is a token classification dataset; set task: token_classification")
    if source == BUILTIN_TWEETS:
        suffix, fallback, tweets = ".csv", "mac_roman", True
    else:
        suffix, fallback, tweets = path.suffix.lower(), "cp1252", False
    fallback_lines = unparsable = 0
    if path.is_dir():
        frame = _read_datasets_folder(path)
    elif suffix in (".csv", ".jsonl", ".json") and extra:
        frame, fallback_lines, unparsable = _read_text_table_leniently(
            path, ".csv" if suffix == ".csv" else ".jsonl", cfg, fallback
        )
    elif suffix in (".csv", ".jsonl", ".json"):
        frame, fallback_lines = _read_text_table(path, ".csv" if suffix == ".csv" else ".jsonl", cfg, fallback)
    elif suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise DataError(f"{path}: unreadable Parquet file ({exc})") from None
    elif suffix in (".conll", ".iob", ".bio"):
        raise DataError(f"data.source: {path} looks like a token classification (CoNLL) file; set task: token_classification "
                        f"or give a .csv, .jsonl or .parquet table")
    else:
        raise DataError(f"data.source: {path} has unsupported type {suffix!r}; use .csv, .jsonl, .parquet or a datasets folder")
    return _raw_from_frame(frame, source, path, cfg, extra=extra, split=split, tweets=tweets,
                           fallback_lines=fallback_lines, unparsable=unparsable)


def _raw_from_frame(frame: pd.DataFrame, source: str, path: Path | str, cfg: DataConfig, *, extra: bool, split: str,
                    tweets: bool = False, fallback_lines: int = 0, unparsable: int = 0) -> RawData:
    """A read table as RawData: its text and label columns as strings, each row's split; `path` names it in errors."""
    if extra and frame.empty:  # nothing (or nothing parsable) to add: an untrusted file never fails the stage
        return RawData(_EMPTY.copy(), source=str(source), fallback_lines=fallback_lines, unparsable=unparsable)
    if frame.empty:
        raise DataError(f"{path}: the dataset has no rows")
    missing = [c for c in (cfg.text_column, cfg.label_column) if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: column(s) {missing} not found; columns are {list(frame.columns)}; "
            f"set data.text_column / data.label_column"
        )
    frame, unknown_split = apply_split_column(frame, cfg, path, split=split, extra=extra)
    out = pd.DataFrame({
        "text": frame[cfg.text_column].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)),
        "label": frame[cfg.label_column].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip()),
    })
    out["mojibake"] = tweets
    out["extra"] = extra
    out["split"] = frame["split"].to_numpy()
    return RawData(out, source=str(source), fallback_lines=fallback_lines, unparsable=unparsable, unknown_split=unknown_split)


def apply_split_column(frame: pd.DataFrame, cfg: DataConfig, path: Path | str, *, split: str = "", extra: bool = False
                       ) -> tuple[pd.DataFrame, int]:
    """`frame` with a `split` column (the file's `split`, or `data.split_column` mapped), less rows of unknown split.

    Returns (frame, rows dropped for a split value in no `data.split_values` list). Extra sources are split
    by `data.extra_sources_split`, never by a column of theirs."""
    if extra or cfg.split_column is None or split:
        return frame.reset_index(drop=True).assign(split=split), 0
    if cfg.split_column not in frame.columns:
        raise DataError(f"{path}: data.split_column {cfg.split_column!r} not found; columns are {list(frame.columns)}")
    mapped = map_split_column(frame[cfg.split_column], cfg)
    known = mapped != ""
    if not known.any():
        seen = sorted({str(v) for v in frame[cfg.split_column].head(1000)})[:5]
        raise DataError(f"{path}: no {cfg.split_column!r} value is in data.split_values (values seen: {seen}); set data.split_values")
    return frame[known].reset_index(drop=True).assign(split=mapped[known].to_numpy()), int((~known).sum())
