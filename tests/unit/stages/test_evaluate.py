"""sftops.stages.evaluate: the stage's report names the task's metrics for every model (not the improvement block)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sftops.config import parse_params
from sftops.modeling import TrainedModelInfo, build_classifier, load_tokenizer, save_model
from sftops.stages import evaluate
from sftops.testing.ner_data import prepared_ner


@pytest.fixture
def ner_project(tiny_bert_dir: Path, tmp_path: Path) -> Path:
    data = prepared_ner(n_train=40, n_validation=5, n_test=10)
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    for split in ("train", "validation", "test"):
        data.split(split).to_parquet(prepared / f"{split}.parquet")
    (prepared / "meta.json").write_text(json.dumps(data.meta))
    raw = {"task": "token_classification", "model": {"base": str(tiny_bert_dir), "max_length": 32}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    params = parse_params(raw)
    model = build_classifier(params.model, data.label_map, seed=params.train.seed, task="token_classification")
    save_model(model, load_tokenizer(tiny_bert_dir), data.label_map,
               TrainedModelInfo(base_model=str(tiny_bert_dir), strategy="full", max_length=32, task="token_classification"),
               tmp_path / "models" / "model")
    return tmp_path


def test_the_ner_evaluate_stage_reports_entity_f1_and_token_accuracy_per_model(ner_project: Path) -> None:
    report = evaluate(ner_project)
    assert set(report.results) == {"fine_tuned", "untuned", "crf"}
    assert set(report.metrics) == {f"{model}.{key}" for model in report.results for key in ("entity_f1", "token_accuracy")} | {
        "test_examples"}
    assert report.metrics["crf.entity_f1"] == json.loads((ner_project / "metrics" / "eval.json").read_text())["crf"]["entity_f1"]
    assert report.metrics["test_examples"] == 10
