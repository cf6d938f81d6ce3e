"""Params for Hub models and datasets: the typed and the string form of a Hub data.source, model.revision."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sftops.config import DataConfig, ModelConfig


def test_the_string_form_is_the_typed_form() -> None:
    cfg = DataConfig(source="hf://datasets/owner/name@v1.0")
    assert cfg.hub_source is not None and cfg.sources() == ["hf://datasets/owner/name@v1.0"]
    assert (cfg.hub_source.hub, cfg.hub_source.revision, cfg.hub_source.config) == ("owner/name", "v1.0", None)
    typed = DataConfig(source={"hub": "owner/name", "config": "c", "splits": {"train": "train", "test": "test"}})
    assert typed.hub_source is not None and typed.hub_source.splits == {"train": "train", "test": "test"}
    assert DataConfig(source="data.csv").hub_source is None


@pytest.mark.parametrize(("source", "extra", "message"), [
    ({"hub": "owner/name", "splits": {"test": "test"}}, {}, "must name the dataset's training split"),
    ({"hub": "owner/../x"}, {}, "pattern"),
    ("hf://datasets/owner/name", {"split_column": "split"}, "not data.split_column"),
])
def test_bad_hub_sources_are_refused(source: object, extra: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DataConfig(source=source, **extra)


def test_a_revision_needs_a_hub_model() -> None:
    assert ModelConfig(base="distilroberta-base", revision="main").revision == "main"
    with pytest.raises(ValidationError, match="revision applies to a Hugging Face Hub model id"):
        ModelConfig(revision="main")
