"""Datasets that come split: one source per split, or a split column; the given test split never moves."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sftops.config import DataConfig
from sftops.data import load_prepared, prepare_dataset
from sftops.data.keys import split_bucket
from sftops.exceptions import DataError
from sftops.testing import make_text_dataset
from sftops.testing.datasets import make_tagged_sentences, write_conll

NER = "token_classification"
SPLITS = ("train", "validation", "test")


def _texts(sentences: list[tuple[list[str], list[str]]]) -> list[str]:
    return [" ".join(t) for t, _ in sentences]


def test_ner_split_files_keep_their_splits_and_the_test_split_never_moves(tmp_path: Path) -> None:
    train, dev, test = (make_tagged_sentences(n, seed=s) for n, s in ((80, 1), (20, 2), (20, 3)))
    files = {name: write_conll(tmp_path / f"{name}.conll", rows) for name, rows in zip(SPLITS, (train, dev, test))}
    cfg = DataConfig(source={name: str(path) for name, path in files.items()})
    meta = prepare_dataset(cfg, tmp_path / "v1", task=NER)
    v1 = load_prepared(tmp_path / "v1")
    assert meta["given_splits"] == list(SPLITS)
    assert sorted(v1.train["text"]) == sorted(_texts(train)) and sorted(v1.test["text"]) == sorted(_texts(test))
    assert sorted(v1.validation["text"]) == sorted(_texts(dev))
    # v2: more training data, holding a copy of a test sentence: the copy leaves train, test is as it was
    write_conll(files["train"], [*train, *make_tagged_sentences(40, seed=4), test[0]])
    meta2 = prepare_dataset(cfg, tmp_path / "v2", task=NER)
    v2 = load_prepared(tmp_path / "v2")
    assert v2.test.equals(v1.test) and v2.validation.equals(v1.validation)
    assert meta2["cleaning"]["in_held_out_split"] == 1 and _texts(test[:1])[0] not in set(v2.train["text"])
    assert len(v2.train) == 120


def test_a_missing_split_is_carved_out_of_train_by_the_text_hash(tmp_path: Path) -> None:
    train, test = make_tagged_sentences(300, seed=5), make_tagged_sentences(30, seed=6)
    cfg = DataConfig(source={"train": str(write_conll(tmp_path / "train.txt", train)),
                             "test": str(write_conll(tmp_path / "test.txt", test))})
    meta = prepare_dataset(cfg, tmp_path / "p", task=NER)
    data = load_prepared(tmp_path / "p")
    assert meta["given_splits"] == ["train", "test"] and sorted(data.test["text"]) == sorted(_texts(test))
    lo, hi = cfg.split.train, cfg.split.train + cfg.split.validation
    expected = {t for t in _texts(train) if lo <= split_bucket(t, cfg.split_salt) < hi}
    assert set(data.validation["text"]) == expected and 10 < len(expected) < 60  # about 10% of train
    assert len(data.train) + len(data.validation) == 300


def test_classification_with_one_csv_per_split(tmp_path: Path) -> None:
    frames = {name: make_text_dataset(n, seed=s) for name, n, s in (("train", 90, 1), ("validation", 15, 2), ("test", 30, 3))}
    for name, frame in frames.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    cfg = DataConfig(source={n: str(tmp_path / f"{n}.csv") for n in frames}, label_column="label")
    meta = prepare_dataset(cfg, tmp_path / "p")
    data = load_prepared(tmp_path / "p")
    assert meta["task"] == "classification" and data.task == "classification"
    for name in SPLITS:
        got = data.split(name).sort_values("text")
        want = frames[name].sort_values("text")
        assert got["text"].tolist() == want["text"].tolist() and got["label_name"].tolist() == want["label"].tolist()
    assert meta["counts"]["test"]["total"] == 30


def test_a_split_column_is_mapped_case_insensitively_and_other_values_are_dropped(tmp_path: Path) -> None:
    frame = make_text_dataset(120, seed=7)
    frame["part"] = (["TRAIN", "train ", "Dev", "test", "holdout", "train"] * 20)
    frame.to_csv(tmp_path / "d.csv", index=False)
    cfg = DataConfig(source=str(tmp_path / "d.csv"), label_column="label", split_column="part")
    meta = prepare_dataset(cfg, tmp_path / "p")
    data = load_prepared(tmp_path / "p")
    assert [len(data.split(s)) for s in SPLITS] == [60, 20, 20]
    assert meta["dropped"]["unknown_split"] == 20 and meta["rows_kept"] == 100
    assert set(data.validation["text"]) == set(frame.loc[frame["part"] == "Dev", "text"])
    # the same for tagged sentences in JSON Lines
    rows = make_tagged_sentences(60, seed=8)
    table = pd.DataFrame({"tokens": [t for t, _ in rows], "tags": [g for _, g in rows],
                          "split": ["train", "valid", "TEST", "other"] * 15})
    table.to_json(tmp_path / "s.jsonl", orient="records", lines=True)
    meta = prepare_dataset(DataConfig(source=str(tmp_path / "s.jsonl"), split_column="split"), tmp_path / "q", task=NER)
    assert [meta["counts"][s]["sentences"] for s in SPLITS] == [15, 15, 15] and meta["cleaning"]["unknown_split"] == 15


def test_bad_split_input_is_one_line(tmp_path: Path) -> None:
    frame = make_text_dataset(30, seed=9).assign(part="train")
    frame.to_csv(tmp_path / "d.csv", index=False)
    base = {"source": str(tmp_path / "d.csv"), "label_column": "label"}
    with pytest.raises(DataError, match=r"data.split_column 'fold' not found"):
        prepare_dataset(DataConfig(**base, split_column="fold"), tmp_path / "p")
    with pytest.raises(DataError, match=r"no 'label' value is in data.split_values"):
        prepare_dataset(DataConfig(**base, split_column="label"), tmp_path / "p")
    frame.assign(part="test").to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"the dataset gives no training rows"):
        prepare_dataset(DataConfig(source=str(tmp_path / "t.csv"), label_column="label", split_column="part"), tmp_path / "p")
    write_conll(tmp_path / "d.conll", make_tagged_sentences(10))
    with pytest.raises(DataError, match=r"a CoNLL file has no columns for data.split_column"):
        prepare_dataset(DataConfig(source=str(tmp_path / "d.conll"), split_column="split"), tmp_path / "p", task=NER)


def test_a_datasets_dict_keeps_its_own_splits_through_the_split_column(tmp_path: Path) -> None:
    import datasets

    rows = make_tagged_sentences(100, seed=10)
    part = {"tokens": [t for t, _ in rows], "tags": [g for _, g in rows]}
    datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({k: v[:80] for k, v in part.items()}),
        "test": datasets.Dataset.from_dict({k: v[80:] for k, v in part.items()}),
    }).save_to_disk(str(tmp_path / "ds"))
    meta = prepare_dataset(DataConfig(source=str(tmp_path / "ds"), split_column="split"), tmp_path / "p", task=NER)
    assert meta["given_splits"] == ["train", "test"]
    assert sorted(load_prepared(tmp_path / "p").test["text"]) == sorted(_texts(rows[80:]))
    assert meta["counts"]["train"]["sentences"] + meta["counts"]["validation"]["sentences"] == 80


def test_feedback_rows_join_train_and_leave_the_given_test_split_alone(tmp_path: Path) -> None:
    frames = {name: make_text_dataset(n, seed=s) for name, n, s in (("train", 60, 11), ("test", 30, 12))}
    for name, frame in frames.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    cfg = {"source": {n: str(tmp_path / f"{n}.csv") for n in frames}, "label_column": "label"}
    prepare_dataset(DataConfig(**cfg), tmp_path / "v1")
    feedback = make_text_dataset(12, seed=13)
    feedback.to_csv(tmp_path / "fb.csv", index=False)
    for policy in ("train", "hash"):
        meta = prepare_dataset(DataConfig(**cfg, extra_sources=[str(tmp_path / "fb.csv")], extra_sources_split=policy),
                               tmp_path / "v2")
        v1, v2 = load_prepared(tmp_path / "v1"), load_prepared(tmp_path / "v2")
        assert v2.test.equals(v1.test) and meta["extra_sources"]["rows_kept"] == 12
        assert set(feedback["text"]) <= set(v2.train["text"]) | set(v2.validation["text"])
        if policy == "train":
            assert set(feedback["text"]) <= set(v2.train["text"])
