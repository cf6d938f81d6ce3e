"""The prepare stage: every source format, cleaning counts, stratified hashed splits, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sftops.config import DataConfig
from sftops.data import LabelMap, load_prepared, prepare_dataset
from sftops.data.clean import clean
from sftops.data.sources import RawData, load_source
from sftops.exceptions import DataError
from sftops.testing import make_text_dataset


def _cfg(source: Path | str, **kw) -> DataConfig:
    base = {"source": str(source), "text_column": "text", "label_column": "label"}
    return DataConfig(**{**base, **kw})


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_text_dataset(120, ("negative", "neutral", "positive", "question"))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "datasets"])
def test_each_source_format_loads(tmp_path: Path, frame: pd.DataFrame, fmt: str) -> None:
    renamed = frame.rename(columns={"text": "tweet", "label": "stance"})
    if fmt == "csv":
        path = tmp_path / "d.csv"
        renamed.to_csv(path, index=False)
    elif fmt == "jsonl":
        path = tmp_path / "d.jsonl"
        renamed.to_json(path, orient="records", lines=True)
    elif fmt == "parquet":
        path = tmp_path / "d.parquet"
        renamed.to_parquet(path)
    else:
        import datasets

        path = tmp_path / "d_folder"
        datasets.Dataset.from_pandas(renamed).save_to_disk(str(path))
    raw = load_source(_cfg(path, text_column="tweet", label_column="stance"))
    assert list(raw.frame.columns) == ["text", "label", "mojibake", "extra", "split"]
    assert (raw.frame["split"] == "").all()
    assert not raw.frame["mojibake"].any() and not raw.frame["extra"].any()
    assert raw.frame["text"].tolist() == frame["text"].tolist()
    assert raw.frame["label"].tolist() == frame["label"].tolist()


def test_builtin_tweets_load_repair_and_counts() -> None:
    raw = load_source(DataConfig())
    assert len(raw.frame) == 38158
    assert raw.frame["label"].value_counts().to_dict() == {"negative": 16186, "neutral": 15018, "positive": 6954}
    cleaned, report = clean(raw, DataConfig())
    # mojibake "I don’¢_äŒ_Ü¢t" must come back as a plain apostrophe
    assert cleaned["text"].str.contains("I don't want either! RT @clayhebert", regex=False).any()
    assert not cleaned["text"].str.contains("’¢_äŒ", regex=False).any()
    assert 0 < report.dropped["unrepairable_encoding"] < 0.03 * len(raw.frame)
    assert report.rows_kept == len(cleaned) == report.rows_read - sum(report.dropped.values())


def test_cleaning_counts_each_reason() -> None:
    rows = [
        ("good one", "a"), ("good  one\n", "a"),  # duplicate after whitespace normalisation
        ("   ", "a"),  # empty
        ("no label", ""),  # missing label
        ("x", "b"),  # too short
        ("this text is far too long to keep", "b"),  # too long
        ("both ways", "a"), ("both ways", "b"),  # conflicting labels: both dropped
        ("fine text", "b"), ("caf\u00c3\u00a9 au lait", "a"),  # repairable mojibake (UTF-8 read as latin-1)
    ]
    raw = RawData(pd.DataFrame(rows, columns=["text", "label"]).assign(mojibake=False, extra=False), "mem", 0)
    cleaned, report = clean(raw, DataConfig(min_chars=2, max_chars=20))
    assert report.dropped == {
        "unparsable": 0, "control_characters": 0, "unrepairable_encoding": 0, "empty_text": 1, "missing_label": 1,
        "too_short": 1, "too_long": 1, "conflicting_labels": 2, "duplicate": 1, "unknown_label": 0,
        "feedback_conflict": 0, "unknown_split": 0, "in_held_out_split": 0,
    }
    assert sorted(cleaned["text"]) == ["café au lait", "fine text", "good one"]
    assert report.repaired >= 1


def test_split_is_stratified_and_deterministic(tmp_path: Path, frame: pd.DataFrame) -> None:
    src = tmp_path / "d.csv"
    frame.to_csv(src, index=False)
    meta1 = prepare_dataset(_cfg(src, split_salt="a"), tmp_path / "a")
    meta2 = prepare_dataset(_cfg(src, split_salt="a"), tmp_path / "b")
    meta3 = prepare_dataset(_cfg(src, split_salt="b"), tmp_path / "c")
    assert meta1["fingerprint"] == meta2["fingerprint"] != meta3["fingerprint"]  # the salt alone re-splits
    counts = meta1["counts"]
    assert sum(counts[s]["total"] for s in counts) == 120
    assert 80 <= counts["train"]["total"] <= 110  # 0.8 of 120 by hash, each text independently
    for split in counts:  # every split holds every label
        assert min(counts[split]["per_label"].values()) >= 1
    data = load_prepared(tmp_path / "a")
    assert data.label_map == LabelMap(("negative", "neutral", "positive", "question"))
    assert not set(data.train["text"]) & set(data.test["text"])
    assert (data.train["label"].map(data.label_map.id2label) == data.train["label_name"]).all()


def test_caps_keep_label_proportions(tmp_path: Path) -> None:
    frame = make_text_dataset(300, ("negative", "positive"))
    frame.loc[:199, "label"] = "negative"  # 250 negative / 50 positive: 5 to 1
    src = tmp_path / "d.parquet"
    frame.to_parquet(src)
    meta = prepare_dataset(_cfg(src, max_samples={"train": 30, "test": 9}), tmp_path / "out")
    assert meta["counts"]["train"]["total"] == 30
    per = meta["counts"]["train"]["per_label"]
    assert 24 <= per["negative"] <= 26 and per["positive"] == 30 - per["negative"]  # 5 to 1, up to hashing
    assert meta["counts"]["test"]["total"] == 9


def test_caps_never_drop_extra_source_rows(tmp_path: Path) -> None:
    make_text_dataset(300, ("negative", "positive"), seed=1).to_csv(tmp_path / "main.csv", index=False)
    feedback = make_text_dataset(40, ("negative", "positive"), seed=2)
    feedback.to_csv(tmp_path / "feedback.csv", index=False)
    cfg = _cfg(tmp_path / "main.csv", extra_sources=[str(tmp_path / "*feedback.csv")], max_samples={"train": 20})
    prepare_dataset(cfg, tmp_path / "out")
    data = load_prepared(tmp_path / "out")
    everything = pd.concat([data.train, data.validation, data.test])
    assert set(feedback["text"]) <= set(everything["text"])  # all 40 feedback rows survive the caps
    assert len(data.train) == 20 + int(data.train["text"].isin(feedback["text"]).sum())


def test_label_map_is_stable_and_round_trips(tmp_path: Path) -> None:
    a = LabelMap.from_labels(["pos", "neg", "neu", "neg"])
    b = LabelMap.from_labels(["neu", "pos", "neg"])
    assert a == b and a.label2id == {"neg": 0, "neu": 1, "pos": 2}
    a.save(tmp_path / "m.json")
    assert LabelMap.load(tmp_path / "m.json") == a
    assert LabelMap.from_labels(["b", "a"], order=["b", "a"]).label2id == {"b": 0, "a": 1}
    with pytest.raises(DataError, match=r"not in data\.labels"):
        LabelMap.from_labels(["a", "c"], order=["a", "b"])


# --- bad input: one clear error, no partial output -------------------------------------------

def _expect_error(cfg: DataConfig, out: Path, match: str) -> None:
    with pytest.raises(DataError, match=match):
        prepare_dataset(cfg, out)
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


def test_missing_file(tmp_path: Path) -> None:
    _expect_error(_cfg(tmp_path / "nope.csv"), tmp_path / "out", "does not exist")


def test_missing_column(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(tmp_path / "d.csv", index=False)
    _expect_error(_cfg(tmp_path / "d.csv", label_column="sentiment"), tmp_path / "out", r"column\(s\) \['sentiment'\] not found")


def test_single_class(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.assign(label="positive").to_csv(tmp_path / "d.csv", index=False)
    _expect_error(_cfg(tmp_path / "d.csv"), tmp_path / "out", "at least 2 classes")


def test_too_few_examples_for_splits(tmp_path: Path) -> None:
    make_text_dataset(5, ("negative", "positive")).to_csv(tmp_path / "d.csv", index=False)
    _expect_error(_cfg(tmp_path / "d.csv"), tmp_path / "out", "fewer than 3 examples")


def test_unreadable_encoding(tmp_path: Path, frame: pd.DataFrame) -> None:
    (tmp_path / "d.csv").write_bytes(frame.to_csv(index=False).encode("utf-16"))
    _expect_error(_cfg(tmp_path / "d.csv"), tmp_path / "out", "UTF-16 or binary")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_bytes(b"")
    _expect_error(_cfg(tmp_path / "d.csv"), tmp_path / "out", "empty")
    (tmp_path / "h.csv").write_text("text,label\n")
    _expect_error(_cfg(tmp_path / "h.csv"), tmp_path / "out", "no rows")


def test_malformed_files(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"text": "a", "label": "x"}\n{not json\n')
    _expect_error(_cfg(tmp_path / "d.jsonl"), tmp_path / "out", "malformed JSON Lines")
    (tmp_path / "d.parquet").write_bytes(b"PAR1 not really")
    _expect_error(_cfg(tmp_path / "d.parquet"), tmp_path / "out", "unreadable Parquet")
    (tmp_path / "d.txt").write_text("hello")
    _expect_error(_cfg(tmp_path / "d.txt"), tmp_path / "out", "unsupported type")


def test_failed_rerun_keeps_previous_output(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "out"
    meta = prepare_dataset(_cfg(tmp_path / "d.csv"), out)
    (tmp_path / "d.csv").write_text("text,label\n")
    with pytest.raises(DataError):
        prepare_dataset(_cfg(tmp_path / "d.csv"), out)
    assert json.loads((out / "meta.json").read_text())["fingerprint"] == meta["fingerprint"]
