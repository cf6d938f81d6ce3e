"""data.source as a Hugging Face Hub dataset, read offline from a local Hub cache (nothing is fetched)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sftops.config import DataConfig, parse_params
from sftops.data.hub import load_hub_splits
from sftops.data.token_sources import load_sentences
from sftops.exceptions import DataError
from sftops.stages import prepare, source
from sftops.testing import make_text_dataset
from sftops.testing.datasets import make_tagged_sentences
from sftops.testing.hub_cache import cache_dataset, point_hub_cache

LABELS = ["negative", "neutral", "positive"]


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty offline Hub cache for this test."""
    return point_hub_cache(monkeypatch, tmp_path / "hf")


def _tweets(hub: Path) -> str:
    """`owner/tweets` (config `sentiment`): 60/15/20 rows in splits train/dev/test, labels as ClassLabel ids."""
    import datasets

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=LABELS)})
    frame = make_text_dataset(95).assign(label=lambda f: f["label"].map(LABELS.index))
    splits = {"train": frame[:60], "dev": frame[60:75], "test": frame[75:]}
    return cache_dataset(hub, "owner/tweets", splits, config="sentiment", features=features)


def test_a_hub_dataset_is_prepared_offline_with_its_own_splits_and_revision(hub: Path, tmp_path: Path) -> None:
    commit = _tweets(hub)
    raw = {"model": {"base": "builtin:minilm"},
           "data": {"source": {"hub": "owner/tweets", "config": "sentiment",
                               "splits": {"train": "train", "validation": "dev", "test": "test"}},
                    "label_column": "label", "split": {"train": 0.6, "validation": 0.2, "test": 0.2}}}
    project = tmp_path / "project"
    project.mkdir()
    params = parse_params(raw)
    fingerprint = source(project, params).fingerprint
    assert fingerprint["source"] == {"name": "hf://datasets/owner/tweets (sentiment)", "revision": commit, "files": []}
    prepare(project, params)
    test = pd.read_parquet(project / "data/prepared/test.parquet")
    assert sorted(test["text"]) == sorted(make_text_dataset(95)[75:]["text"])  # the dataset's test split, as it is
    meta = json.loads((project / "data/prepared/meta.json").read_text())
    assert meta["source"] == f"hf://datasets/owner/tweets (sentiment) @ {commit[:12]}"
    assert sorted(meta["label_map"]) == LABELS  # ClassLabel ids became their names


def test_the_string_form_maps_splits_by_name_and_follows_the_branch(hub: Path) -> None:
    commit = _tweets(hub)
    cfg = DataConfig(source="hf://datasets/owner/tweets", label_column="label")
    frames, snapshot = load_hub_splits(cfg)
    assert snapshot.revision == commit
    assert {k: len(v) for k, v in frames.items()} == {"train": 60, "validation": 15, "test": 20}  # by data.split_values
    with pytest.raises(DataError, match=r"no split\(s\) \['valid'\].*set data.source.splits"):
        load_hub_splits(DataConfig(source={"hub": "owner/tweets", "splits": {"train": "train", "validation": "valid"}},
                                   label_column="label"))


def test_tags_of_a_hub_ner_dataset_are_read_by_name(hub: Path) -> None:
    import datasets

    names = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    sentences = make_tagged_sentences(30)
    frame = pd.DataFrame({"tokens": [s[0] for s in sentences], "tags": [[names.index(t) for t in s[1]] for s in sentences]})
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "tags": datasets.Sequence(datasets.ClassLabel(names=names))})
    cache_dataset(hub, "owner/ner", {"train": frame[:20], "test": frame[20:]}, features=features)
    raw = load_sentences(DataConfig(source="hf://datasets/owner/ner"))
    assert list(raw.frame["split"]).count("test") == 10
    assert [list(t) for t in raw.frame["tags"][:20]] == [s[1] for s in sentences[:20]]


def test_a_dataset_not_in_the_cache_offline_is_a_one_line_error(hub: Path) -> None:
    with pytest.raises(DataError) as info:
        load_hub_splits(DataConfig(source="hf://datasets/owner/missing@v2", label_column="label"))
    message = str(info.value)
    assert "\n" not in message and "owner/missing@v2" in message and "HF_HUB_OFFLINE" in message
