"""Splits that never move: each example's split is a hash of its text, so a new data version only adds rows."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pandas as pd
import pytest

from sftops.config import DataConfig
from sftops.data import load_prepared, prepare_dataset
from sftops.data.keys import split_bucket, text_key
from sftops.data.prepared import TRAIN_KEYS_FILE
from sftops.exceptions import DataError
from sftops.testing import make_text_dataset

LABELS = ("negative", "neutral", "positive")


def _cfg(root: Path, **kw) -> DataConfig:
    base = {"source": str(root / "source.csv"), "text_column": "text", "label_column": "label",
            "extra_sources": [str(root / "feedback/*.csv")]}
    return DataConfig(**{**base, **kw})


def _write(root: Path, source: pd.DataFrame, feedback: pd.DataFrame | None = None) -> None:
    source.to_csv(root / "source.csv", index=False)
    (root / "feedback").mkdir(exist_ok=True)
    for old in (root / "feedback").glob("*.csv"):
        old.unlink()
    if feedback is not None and len(feedback):
        feedback.to_csv(root / "feedback/feedback.csv", index=False)


def _keys(data, split: str) -> set[str]:
    return {text_key(t) for t in data.split(split)["text"]}


def _assert_nothing_moved(v1, v2) -> None:
    """The invariant the promotion gate needs, from one data version to the next."""
    used2 = {s: _keys(v2, s) for s in ("train", "validation", "test")}
    everything2 = set().union(*used2.values())
    for split in ("train", "validation", "test"):
        for other in {"train", "validation", "test"} - {split}:
            moved = _keys(v1, split) & used2[other]
            assert not moved, f"{len(moved)} {split} rows of v1 are in {other} in v2"
    # a v1 test row is in the v2 test split or unused
    assert _keys(v1, "test") <= used2["test"] | (_keys(v1, "test") - everything2)
    assert not used2["train"] & used2["test"] and not used2["train"] & used2["validation"]


def test_adding_source_rows_and_feedback_moves_no_row_between_splits(tmp_path: Path) -> None:
    source = make_text_dataset(600, LABELS, seed=1)
    _write(tmp_path, source)
    prepare_dataset(_cfg(tmp_path), tmp_path / "v1")
    v1 = load_prepared(tmp_path / "v1")
    # v2: more source rows, plus feedback: new texts, a v1 test text (same label) and a v1 train text re-cased
    more = make_text_dataset(300, LABELS, seed=2)
    test_row, train_row = v1.test.iloc[0], v1.train.iloc[0]
    feedback = pd.concat([
        make_text_dataset(40, LABELS, seed=3),
        pd.DataFrame({"text": [test_row["text"], train_row["text"].upper()],
                      "label": [test_row["label_name"], train_row["label_name"]]}),
    ])
    _write(tmp_path, pd.concat([source, more]), feedback)
    meta = prepare_dataset(_cfg(tmp_path), tmp_path / "v2")
    v2 = load_prepared(tmp_path / "v2")
    _assert_nothing_moved(v1, v2)
    # feedback on a test text does not pull it into training; the text is held out of every split (a model
    # may have trained on it as feedback before the source had it), while the train text stays in train
    assert test_row["text"] not in set(pd.concat([v2.train, v2.validation, v2.test])["text"])
    assert train_row["text"] in set(v2.train["text"]) and train_row["text"].upper() not in set(v2.train["text"])
    assert meta["dropped"]["duplicate"] == 2 and meta["extra_sources"]["source_rows_held_out"] == 1
    new_feedback = set(make_text_dataset(40, LABELS, seed=3)["text"])
    assert new_feedback <= set(v2.train["text"])  # feedback lands in the training split only
    assert meta["extra_sources"]["rows_read"] == 42 and meta["extra_sources"]["rows_kept"] == 40


@pytest.mark.parametrize("seed", range(6))
def test_random_additions_with_caps_never_move_a_row(tmp_path: Path, seed: int) -> None:
    """Versions as the loop makes them: the source grows (with new texts, and with texts users already sent as
    feedback), feedback accumulates (a full re-export each time) and loses some rows to deletion; caps vary."""
    rng = random.Random(seed)
    pool = make_text_dataset(1200, LABELS, seed=100 + seed)
    fresh = iter(range(len(pool)))
    take = lambda n: [next(fresh) for _ in range(n)]  # noqa: E731
    caps = {"train": rng.choice([None, 150, 300]), "validation": rng.choice([None, 30]), "test": rng.choice([None, 40])}
    source, feedback = take(rng.randrange(150, 400)), []
    versions = []
    for step in range(4):
        _write(tmp_path, pool.iloc[source], pool.iloc[feedback])
        prepare_dataset(_cfg(tmp_path, max_samples=caps), tmp_path / f"v{step}")
        versions.append(load_prepared(tmp_path / f"v{step}"))
        only_feedback = [i for i in feedback if i not in source]
        deleted = set(rng.sample(only_feedback, min(3, len(only_feedback))))
        source = source + take(rng.randrange(10, 200)) + rng.sample(feedback, min(5, len(feedback)))
        feedback = [i for i in feedback if i not in deleted] + take(rng.randrange(5, 40))
        # users also send feedback on texts that are already in the source (any split), with its label
        feedback += rng.sample(source, 3)
    for older, newer in itertools.pairwise(versions):
        _assert_nothing_moved(older, newer)
    _assert_nothing_moved(versions[0], versions[-1])


def test_split_is_the_hash_bucket_of_the_text(tmp_path: Path) -> None:
    source = make_text_dataset(300, LABELS, seed=4)
    _write(tmp_path, source)
    cfg = _cfg(tmp_path, split_salt="pepper")
    prepare_dataset(cfg, tmp_path / "out")
    data = load_prepared(tmp_path / "out")
    for split, (lo, hi) in {"train": (0, 0.8), "validation": (0.8, 0.9), "test": (0.9, 1)}.items():
        buckets = [split_bucket(t, "pepper") for t in data.split(split)["text"]]
        assert all(lo <= b < hi for b in buckets), split
    assert len(data.train) + len(data.validation) + len(data.test) == 300


def test_feedback_can_opt_in_to_the_hashed_split(tmp_path: Path) -> None:
    source, feedback = make_text_dataset(300, LABELS, seed=5), make_text_dataset(200, LABELS, seed=6)
    _write(tmp_path, source, feedback)
    prepare_dataset(_cfg(tmp_path, extra_sources_split="hash"), tmp_path / "out")
    data = load_prepared(tmp_path / "out")
    fb = set(feedback["text"])
    in_test = fb & set(data.test["text"])
    assert in_test and fb & set(data.validation["text"])
    assert all(split_bucket(t, "sftops") >= 0.9 for t in in_test)


def test_train_keys_file_lists_the_training_texts(tmp_path: Path) -> None:
    _write(tmp_path, make_text_dataset(200, LABELS, seed=7), make_text_dataset(10, LABELS, seed=8))
    prepare_dataset(_cfg(tmp_path), tmp_path / "out")
    data = load_prepared(tmp_path / "out")
    lines = (tmp_path / "out" / TRAIN_KEYS_FILE).read_text().splitlines()
    assert lines == sorted({text_key(t) for t in data.train["text"]}) == data.keys("train")
    assert len(lines) == len(data.train) and not set(lines) & set(data.keys("test"))


def test_a_tiny_label_still_reaches_every_split_deterministically(tmp_path: Path) -> None:
    source = make_text_dataset(120, ("negative", "positive"), seed=9)
    rare = pd.DataFrame({"text": ["rare one here", "rare two here", "rare three here"], "label": ["rare"] * 3})
    _write(tmp_path, pd.concat([source, rare]))
    metas = [prepare_dataset(_cfg(tmp_path), tmp_path / name) for name in ("a", "b")]
    assert metas[0]["fingerprint"] == metas[1]["fingerprint"]
    assert {s: c["per_label"]["rare"] for s, c in metas[0]["counts"].items()} == {"train": 1, "validation": 1, "test": 1}
    _write(tmp_path, pd.concat([source, rare.iloc[:2]]))
    with pytest.raises(DataError, match=r"labels \{'rare': 2\} have fewer than 3 examples"):
        prepare_dataset(_cfg(tmp_path), tmp_path / "c")


def test_data_seed_of_old_params_is_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """An existing params.yaml with data.seed still parses (the project re-splits once) and says what to do."""
    with caplog.at_level("WARNING"):
        cfg = DataConfig(seed=42)
    assert cfg == DataConfig()
    assert "data.seed no longer affects the split" in caplog.text and "remove it" in caplog.text
