"""Fixtures for the export tests: a tiny saved classifier and prepared splits built in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from sftops.data.labels import LabelMap
from sftops.data.prepared import PreparedData
from sftops.testing import make_text_dataset

LABELS = ("negative", "neutral", "positive")


def prepared_from_frames(n_train: int = 60, n_test: int = 40, seed: int = 0, n_validation: int = 10) -> PreparedData:
    """PreparedData over synthetic texts (columns text, label, label_name), no files."""
    label_map = LabelMap(LABELS)
    frame = make_text_dataset(n_train + n_test + n_validation, LABELS, seed=seed).rename(columns={"label": "label_name"})
    frame["label"] = label_map.encode(frame["label_name"])
    train, test = frame.iloc[:n_train], frame.iloc[n_train : n_train + n_test]
    validation = frame.iloc[n_train + n_test :]
    return PreparedData(train=train.reset_index(drop=True), validation=validation.reset_index(drop=True),
                        test=test.reset_index(drop=True), label_map=label_map, meta={})


def save_classifier(base: Path, target: Path, seed: int = 0) -> Path:
    """A plain HF sequence-classification folder (fresh seeded head) with tokenizer and label_map.json."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    label_map = LabelMap(LABELS)
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base), num_labels=len(LABELS), id2label=label_map.id2label, label2id=label_map.label2id
    )
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(str(base)).save_pretrained(target)
    label_map.save(target / "label_map.json")
    return target


@pytest.fixture(scope="session")
def tiny_classifier_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_classifier(tiny_bert_dir, tmp_path_factory.mktemp("tiny-classifier") / "model")


@pytest.fixture
def prepared() -> PreparedData:
    return prepared_from_frames()
