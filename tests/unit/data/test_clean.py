"""Extra sources (merged feedback) are untrusted: a bad row is dropped and counted, never a stage failure, and a
feedback label never deletes a source row unless the user says so (data.feedback_conflict)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sftops.config import DataConfig
from sftops.data import load_prepared, prepare_dataset
from sftops.exceptions import DataError
from sftops.testing import make_text_dataset

LABELS = ("negative", "positive")


@pytest.fixture
def source(tmp_path: Path) -> pd.DataFrame:
    frame = make_text_dataset(90, LABELS, seed=11)
    frame.to_csv(tmp_path / "source.csv", index=False)
    return frame


def _cfg(tmp_path: Path, **kw) -> DataConfig:
    base = {"source": str(tmp_path / "source.csv"), "text_column": "text", "label_column": "label",
            "extra_sources": [str(tmp_path / "fb/*")]}
    return DataConfig(**{**base, **kw})


def _feedback(tmp_path: Path, name: str, content: str) -> None:
    (tmp_path / "fb").mkdir(exist_ok=True)
    (tmp_path / "fb" / name).write_bytes(content.encode("utf-8"))


def test_bad_feedback_rows_are_dropped_and_counted_not_fatal(tmp_path: Path, source: pd.DataFrame) -> None:
    _feedback(tmp_path, "a.csv", (
        'text,label\n'
        '"nul \x00 inside",positive\n'            # NUL in the first row (the main source would be refused as binary)
        '"escape \x1b[31m red",negative\n'        # terminal escape
        '"c1 code \x9d here",negative\n'          # C1 control left after repair
        '"tab\tand newline\nare fine",positive\n'  # kept
        '"too,many",positive,fields\n'            # unparsable
        '"no label at all",\n'                    # missing label
        '"a label nobody knows",sarcastic\n'      # unknown label
        '"a good new text",positive\n'            # kept
        '"unterminated quote,negative\n'          # unparsable (swallows the rest of the file)
    ))
    _feedback(tmp_path, "b.jsonl", '{"text": "json row fine", "label": "negative"}\n{broken json\n[1, 2]\n')
    meta = prepare_dataset(_cfg(tmp_path), tmp_path / "out")
    dropped = meta["dropped"]
    assert (dropped["control_characters"], dropped["unparsable"], dropped["missing_label"], dropped["unknown_label"]) == (3, 4, 1, 1)
    assert meta["extra_sources"]["rows_read"] == 12 and meta["extra_sources"]["rows_kept"] == 3
    assert meta["rows_read"] == 90 + 12 and meta["rows_kept"] == meta["rows_read"] - sum(dropped.values())
    train = set(load_prepared(tmp_path / "out").train["text"])
    assert {"tab and newline are fine", "a good new text", "json row fine"} <= train
    assert not any("\x00" in t or "\x1b" in t for t in train)


def test_an_extra_file_with_no_usable_row_adds_nothing(tmp_path: Path, source: pd.DataFrame) -> None:
    _feedback(tmp_path, "header_only.csv", "text,label\n")
    _feedback(tmp_path, "empty.csv", "")
    _feedback(tmp_path, "garbage.jsonl", "not json\n")
    meta = prepare_dataset(_cfg(tmp_path), tmp_path / "out")
    assert meta["rows_kept"] == 90 and meta["dropped"]["unparsable"] == 1


def test_a_bad_main_source_still_fails_with_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "source.csv").write_bytes(b'text,label\n"nul \x00 inside",positive\nfine,negative\n')
    with pytest.raises(DataError, match="looks like UTF-16 or binary"):
        prepare_dataset(_cfg(tmp_path), tmp_path / "out")
    (tmp_path / "source.csv").write_text('text,label\nfine,negative\n"too,many",positive,fields\n')
    with pytest.raises(DataError, match="malformed CSV"):
        prepare_dataset(_cfg(tmp_path), tmp_path / "out")


def _conflict_setup(tmp_path: Path, source: pd.DataFrame) -> tuple[str, str]:
    """Feedback that flips the label of one source training text; returns (that text, its source label)."""
    prepare_dataset(_cfg(tmp_path), tmp_path / "before")
    row = load_prepared(tmp_path / "before").train.iloc[0]
    flipped = "positive" if row["label_name"] == "negative" else "negative"
    pd.DataFrame({"text": [row["text"]], "label": [flipped]}).to_csv((tmp_path / "fb").joinpath("f.csv"), index=False)
    return row["text"], row["label_name"]


@pytest.mark.parametrize(("policy", "kept_label", "dropped"), [
    ("prefer_source", "source", 1), ("prefer_feedback", "feedback", 1), ("drop_both", None, 2),
])
def test_a_feedback_label_conflict_follows_the_policy(
    tmp_path: Path, source: pd.DataFrame, policy: str, kept_label: str | None, dropped: int
) -> None:
    (tmp_path / "fb").mkdir()
    text, label = _conflict_setup(tmp_path, source)
    meta = prepare_dataset(_cfg(tmp_path, feedback_conflict=policy), tmp_path / "out")
    assert meta["extra_sources"]["label_conflicts"] == 1 and meta["extra_sources"]["conflict_policy"] == policy
    assert meta["dropped"]["feedback_conflict"] == dropped and meta["dropped"]["conflicting_labels"] == 0
    train = load_prepared(tmp_path / "out").train
    rows = train[train["text"] == text]
    if kept_label is None:
        assert rows.empty
    else:
        flipped = "positive" if label == "negative" else "negative"
        assert rows["label_name"].tolist() == [label if kept_label == "source" else flipped]
    assert meta["rows_kept"] == 90 + 1 - dropped


def test_conflicts_within_the_main_source_still_drop_both(tmp_path: Path) -> None:
    frame = make_text_dataset(60, LABELS, seed=12)
    flipped = "positive" if frame["label"][0] == "negative" else "negative"
    conflict = pd.DataFrame({"text": [frame["text"][0].upper()], "label": [flipped]})
    pd.concat([frame, conflict]).to_csv(tmp_path / "source.csv", index=False)
    meta = prepare_dataset(_cfg(tmp_path), tmp_path / "out")
    assert meta["dropped"]["conflicting_labels"] == 2 and meta["extra_sources"]["label_conflicts"] == 0
