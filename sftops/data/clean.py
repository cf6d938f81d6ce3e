"""Clean a raw text/label frame, counting every row dropped and why."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from ..config import DataConfig
from .encoding import repair_text
from .sources import RawData

_SPACE = re.compile(r"\s+")

DROP_REASONS = (
    "unrepairable_encoding",
    "empty_text",
    "missing_label",
    "too_short",
    "too_long",
    "conflicting_labels",
    "duplicate",
)


@dataclass
class CleanReport:
    """Rows read, rows kept, texts repaired, and rows dropped per reason."""

    rows_read: int
    rows_kept: int = 0
    repaired: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))


def normalize_whitespace(text: str) -> str:
    """Collapse every run of whitespace (newlines, tabs, NBSP) to one space and trim."""
    return _SPACE.sub(" ", text).strip()


def clean(raw: RawData, cfg: DataConfig) -> tuple[pd.DataFrame, CleanReport]:
    """Repair encoding, normalise whitespace, then drop bad, empty, out-of-range, conflicting and duplicate rows."""
    report = CleanReport(rows_read=len(raw.frame))
    frame = raw.frame.copy()

    def _drop(mask: pd.Series, reason: str) -> None:
        nonlocal frame
        report.dropped[reason] += int(mask.sum())
        frame = frame[~mask]

    repaired = [repair_text(t, tweets_mojibake=m) for t, m in zip(frame["text"], frame["mojibake"])]
    new_text = [t for t, _ in repaired]
    report.repaired = int(sum(a != b for a, b in zip(new_text, frame["text"])))
    frame = frame.assign(text=[normalize_whitespace(t) for t in new_text])
    _drop(pd.Series([not ok for _, ok in repaired], index=frame.index), "unrepairable_encoding")
    _drop(frame["text"] == "", "empty_text")
    _drop(frame["label"] == "", "missing_label")
    lengths = frame["text"].str.len()
    if cfg.min_chars is not None:
        _drop(lengths < cfg.min_chars, "too_short")
        lengths = frame["text"].str.len()
    if cfg.max_chars is not None:
        _drop(lengths > cfg.max_chars, "too_long")
    labels_per_text = frame.groupby("text")["label"].transform("nunique")
    _drop(labels_per_text > 1, "conflicting_labels")
    _drop(frame.duplicated(subset=["text"], keep="first"), "duplicate")
    report.rows_kept = len(frame)
    return frame.reset_index(drop=True), report
