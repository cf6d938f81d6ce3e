"""data.augment: copies of training rows only, labels kept, counted in meta.json, deterministic; refused for NER."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sftops.config import AugmentConfig, DataConfig
from sftops.data import load_prepared, prepare_dataset
from sftops.data.augment import augment_frame
from sftops.exceptions import ConfigError
from sftops.testing import make_text_dataset


def _prepare(tmp_path: Path, name: str, **augment) -> tuple[dict, object]:
    csv = tmp_path / "d.csv"
    if not csv.exists():
        make_text_dataset(120, ("negative", "neutral", "positive")).to_csv(csv, index=False)
    cfg = DataConfig(source=str(csv), text_column="text", label_column="label", augment=augment)
    meta = prepare_dataset(cfg, tmp_path / name)
    return meta, load_prepared(tmp_path / name)


def test_augment_adds_training_copies_only_and_counts_them(tmp_path: Path) -> None:
    plain_meta, plain = _prepare(tmp_path, "plain")
    opts = {"enabled": True, "augmenters": ["keyboard", "word_swap", "char_delete"], "copies": 2, "seed": 7}
    meta, aug = _prepare(tmp_path, "aug", **opts)

    n = len(plain.train)
    added = meta["augment"]["rows_added"]
    assert meta["augment"]["source_rows"] == n and n < added <= 2 * n  # copies equal to their source are dropped
    assert len(aug.train) == n + added == meta["counts"]["train"]["total"]
    assert aug.train.iloc[:n].equals(plain.train)
    copies = aug.train.iloc[n:]
    assert not set(copies["text"]) & set(plain.train["text"])
    assert copies["label_name"].value_counts().to_dict().keys() == plain.train["label_name"].value_counts().to_dict().keys()
    for split in ("validation", "test"):
        pd.testing.assert_frame_equal(getattr(aug, split), getattr(plain, split))
        assert meta["counts"][split] == plain_meta["counts"][split]
    assert "augment" not in plain_meta
    assert meta["fingerprint"] != plain_meta["fingerprint"]


def test_each_copy_keeps_its_rows_label_and_a_seed_gives_the_same_copies() -> None:
    frame = pd.DataFrame({"text": ["the flight was late again and again", "great crew and a smooth landing"],
                          "label": ["negative", "positive"]})
    cfg = AugmentConfig(enabled=True, augmenters=["word_swap"], copies=3, probability=0.5)
    out = augment_frame(frame, cfg)
    pd.testing.assert_frame_equal(augment_frame(frame, cfg), out)
    assert not augment_frame(frame, cfg.model_copy(update={"seed": 1}))["text"].equals(out["text"])
    assert len(out) > 0 and list(out.columns) == ["text", "label"]
    for text, label in zip(out["text"], out["label"], strict=True):
        source = frame.loc[frame["label"] == label, "text"].item()
        # a swap moves words (nlpaug capitalises the new first word)
        assert sorted(text.lower().split()) == sorted(source.split()) and text != source


def test_token_classification_is_refused(tmp_path: Path) -> None:
    cfg = DataConfig(source="builtin:ner-tweets", augment={"enabled": True})
    with pytest.raises(ConfigError, match=r"data\.augment works for task classification only"):
        prepare_dataset(cfg, tmp_path / "out", task="token_classification")
