"""Clean a raw text/label frame, counting every row dropped and why.

Rows from extra sources (e.g. labelled feedback) are untrusted: a bad one is dropped and
counted, and one whose text is already in the source never changes the source row unless
`data.feedback_conflict` says so. Texts are compared by `keys.text_key` (case and spacing
aside), the same identity the split and the promotion gate's overlap check use.

When the dataset gives its own splits, a text in two of them stays in the held-out one (test before
validation before train): adding training data never takes a row out of the test split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from ..config import DataConfig
from ..textcheck import CONTROL_CHARACTERS
from .encoding import repair_text
from .keys import text_key
from .sources import RawData

_SPACE = re.compile(r"\s+")
# C0 controls and DEL, except tab, newline and CR, looked for before repair (which would strip them silently);
# C1 codes are often mojibake that repair turns back into punctuation, so they are judged after it
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

DROP_REASONS = (
    "unparsable",
    "control_characters",
    "unrepairable_encoding",
    "empty_text",
    "missing_label",
    "too_short",
    "too_long",
    "conflicting_labels",
    "duplicate",
    "unknown_label",
    "feedback_conflict",
    "unknown_split",
    "in_held_out_split",
)
# which copy of a text in several given splits stays: the held-out one, so the test split never moves
SPLIT_PRIORITY = {"test": 0, "validation": 1, "train": 2, "": 3}


@dataclass
class CleanReport:
    """Rows read, rows kept, texts repaired, rows dropped per reason, and what happened to extra-source rows."""

    rows_read: int
    rows_kept: int = 0
    repaired: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    extra_rows_read: int = 0
    extra_rows_kept: int = 0
    # extra-source rows whose text is in the source with another label (resolved by data.feedback_conflict)
    feedback_conflicts: int = 0


def in_held_out_split(frame: pd.DataFrame) -> pd.Series:
    """Rows (columns key, split) whose key is also in a split that outranks theirs (SPLIT_PRIORITY): the copy to drop."""
    rank = frame["split"].map(SPLIT_PRIORITY)
    return rank > frame.assign(rank=rank).groupby("key")["rank"].transform("min")


def normalize_whitespace(text: str) -> str:
    """Collapse every run of whitespace (newlines, tabs, NBSP) to one space and trim."""
    return _SPACE.sub(" ", text).strip()


def clean(raw: RawData, cfg: DataConfig) -> tuple[pd.DataFrame, CleanReport]:
    """Repair encoding, normalise whitespace, then drop bad, empty, out-of-range, conflicting and duplicate rows."""
    report = CleanReport(rows_read=len(raw.frame) + raw.unparsable + raw.unknown_split)
    report.dropped["unparsable"] = raw.unparsable
    report.dropped["unknown_split"] = raw.unknown_split
    report.extra_rows_read = int(raw.frame["extra"].sum()) + raw.unparsable
    frame = raw.frame.copy()
    if "split" not in frame:
        frame["split"] = ""

    def _drop(mask: pd.Series, reason: str) -> None:
        nonlocal frame
        report.dropped[reason] += int(mask.sum())
        frame = frame[~mask]

    _drop(frame["text"].str.contains(_RAW_CONTROL), "control_characters")
    repaired = [repair_text(t, tweets_mojibake=m) for t, m in zip(frame["text"], frame["mojibake"])]
    new_text = [t for t, _ in repaired]
    report.repaired = int(sum(a != b for a, b in zip(new_text, frame["text"])))
    frame = frame.assign(text=[normalize_whitespace(t) for t in new_text], repair_ok=[ok for _, ok in repaired])
    _drop(frame["text"].str.contains(CONTROL_CHARACTERS), "control_characters")  # the server's rule, after repair
    _drop(~frame["repair_ok"], "unrepairable_encoding")
    _drop(frame["text"] == "", "empty_text")
    _drop(frame["label"] == "", "missing_label")
    lengths = frame["text"].str.len()
    if cfg.min_chars is not None:
        _drop(lengths < cfg.min_chars, "too_short")
        lengths = frame["text"].str.len()
    if cfg.max_chars is not None:
        _drop(lengths > cfg.max_chars, "too_long")
    frame = frame.assign(key=frame["text"].map(text_key))
    # within the source (each given split), and within the extra sources: a text with two labels is dropped, a
    # repeat is dropped
    labels_per_text = frame.groupby(["extra", "split", "key"])["label"].transform("nunique")
    _drop(labels_per_text > 1, "conflicting_labels")
    _drop(frame.duplicated(subset=["extra", "split", "key"], keep="first"), "duplicate")
    _drop(~frame["extra"] & in_held_out_split(frame), "in_held_out_split")
    # an extra row must carry one of the source's labels, and its text is judged against the source's: the
    # source row stays (its split is its own hash), the extra row goes, and data.feedback_conflict settles a label
    extra = frame["extra"]
    source_label = frame.loc[~extra].set_index("key")["label"]
    known = set(source_label) & (set(cfg.labels) if cfg.labels is not None else set(source_label))
    _drop(extra & ~frame["label"].isin(known), "unknown_label")
    extra = frame["extra"]
    against = frame["key"].map(source_label)
    matched = frame.loc[extra & against.notna()].set_index("key")["label"]  # key -> the extra row's label
    conflict = extra & against.notna() & (against != frame["label"])
    report.feedback_conflicts = int(conflict.sum())
    source_rows = ~extra & frame["key"].isin(matched.index)
    source_conflict = source_rows & frame["key"].isin(frame.loc[conflict, "key"])
    # split.py keeps such a source row out of validation/test when extra rows go to train: a model may have
    # trained on the text as an extra row before the source had it
    frame = frame.assign(also_extra=source_rows)
    _drop(extra & against.notna() & ~conflict, "duplicate")
    source_conflict = source_conflict.reindex(frame.index)
    if cfg.feedback_conflict == "prefer_feedback":  # the source row keeps its place and takes the new label
        frame.loc[source_conflict, "label"] = frame.loc[source_conflict, "key"].map(matched)
    elif cfg.feedback_conflict == "drop_both":
        _drop(source_conflict, "feedback_conflict")
    _drop(conflict.reindex(frame.index, fill_value=False), "feedback_conflict")
    frame = frame.drop(columns=["repair_ok", "key"])
    report.rows_kept = len(frame)
    report.extra_rows_kept = int(frame["extra"].sum())
    return frame.reset_index(drop=True), report
