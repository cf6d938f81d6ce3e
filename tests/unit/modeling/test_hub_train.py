"""Training on a Hub model id and a Hub dataset, offline from a local Hub cache (the prepare stage, then fine-tuning)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sftops.data.prepared import load_prepared
from sftops.stages import prepare
from sftops.testing import make_text_dataset
from sftops.testing.hub_cache import cache_dataset, cache_model, point_hub_cache
from sftops.training import fine_tune


def test_a_hub_model_fine_tunes_on_a_hub_dataset_offline(
        make_params, tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = point_hub_cache(monkeypatch, tmp_path / "hf")
    cache_model(hub, "owner/tiny-bert", tiny_bert_dir)
    frame = make_text_dataset(60)
    cache_dataset(hub, "owner/texts", {"train": frame[:40], "validation": frame[40:50], "test": frame[50:]})
    params = make_params(model={"base": "owner/tiny-bert"}, train={"epochs": 1},
                         data={"source": "hf://datasets/owner/texts", "label_column": "label"})
    project = tmp_path / "project"
    project.mkdir()
    report = prepare(project, params)
    data = load_prepared(project / "data/prepared")
    assert (len(data.train), len(data.validation), len(data.test)) == (40, 10, 10)
    result = fine_tune(params, data.label_map, data.train, data.validation, keep_best=False)
    assert result.epochs_run == pytest.approx(1.0) and report.outputs
