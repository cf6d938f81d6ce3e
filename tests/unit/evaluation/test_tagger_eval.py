"""sftops.evaluation._tagger_eval through run_evaluate: a token model vs the untuned model and the CRF, files and MLflow."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import mlflow
import pytest

from sftops.config import Params, parse_params
from sftops.data import PreparedData
from sftops.evaluation import PREDICTIONS_FILE, SPURIOUS, entity_metrics, read_predictions, run_evaluate
from sftops.exceptions import DataError, ModelError
from sftops.modeling import TrainedModelInfo, build_classifier, load_tokenizer, save_model
from sftops.tagging import spans_of
from sftops.testing import save_classifier
from sftops.testing.ner_data import prepared_ner
from sftops.tracking import connect


def _ner_params(base: Path) -> Params:
    return parse_params({"task": "token_classification", "model": {"base": str(base), "max_length": 32},
                         "train": {"eval_batch_size": 8}})


def _save_untrained(params: Params, data: PreparedData, target: Path) -> Path:
    """An untrained token model saved as "the fine-tuned one": it must tag exactly like the untuned baseline (same seed)."""
    model = build_classifier(params.model, data.label_map, seed=params.train.seed, task="token_classification")
    info = TrainedModelInfo(base_model=params.model.base, strategy="full", max_length=32, task="token_classification")
    return save_model(model, load_tokenizer(params.model.base), data.label_map, info, target)


def test_evaluate_scores_a_token_model_against_the_untuned_model_and_the_crf(tiny_bert_dir: Path, tmp_path: Path) -> None:
    params, data = _ner_params(tiny_bert_dir), prepared_ner()
    connect(params.tracking)
    model_dir = _save_untrained(params, data, tmp_path / "model")
    summary = run_evaluate(params, data, model_dir=model_dir, eval_file=tmp_path / "eval.json",
                           confusion_file=tmp_path / "cm.csv", curve_file=None)

    written = json.loads((tmp_path / "eval.json").read_text())
    assert written == summary
    assert {"fine_tuned", "untuned", "crf"} <= set(written) and "tfidf_logreg" not in written
    for model_name in ("fine_tuned", "untuned", "crf"):
        assert {"entity_precision", "entity_recall", "entity_f1", "token_accuracy", "per_type"} <= set(written[model_name])
    assert written["fine_tuned"] == written["untuned"]
    assert written["crf"]["entity_f1"] > 0.8  # the entities are capitalised names in fixed templates
    n_entities = sum(len(spans_of(tags)) for tags in data.test["tags"])
    assert sum(row["support"] for row in written["crf"]["per_type"].values()) == n_entities
    assert written["primary_metric"] == "entity_f1"
    assert written["improvement"] == {
        "untuned": 0.0, "crf": pytest.approx(written["fine_tuned"]["entity_f1"] - written["crf"]["entity_f1"])}
    assert written["test_examples"] == len(data.test) and written["test_entities"] == n_entities

    rows = list(csv.DictReader((tmp_path / "cm.csv").open()))
    assert set(rows[0]) == {"actual", "predicted"}
    assert len([r for r in rows if r["actual"] != SPURIOUS]) == n_entities

    client = mlflow.MlflowClient()
    run = client.get_run(summary["run_id"])
    assert run.data.metrics["crf_test_entity_f1"] == written["crf"]["entity_f1"]
    assert run.data.metrics["crf_test_f1_PER"] == written["crf"]["per_type"]["PER"]["f1"]
    assert run.data.metrics["test_entity_f1_over_crf"] == pytest.approx(written["improvement"]["crf"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert {"evaluation/per_type_f1.png", "evaluation/entity_confusion_fine_tuned.png",
            "evaluation/entity_confusion_crf.png", "evaluation/entity_report.txt", "evaluation/eval.json"} <= artifacts
    kept = read_predictions(Path(client.download_artifacts(run.info.run_id, f"evaluation/{PREDICTIONS_FILE}", str(tmp_path))))
    assert [r["tags"] for r in kept] == [list(t) for t in data.test["tags"]]
    assert entity_metrics([r["tags"] for r in kept], [r["predicted"] for r in kept])["entity_f1"] == \
        written["fine_tuned"]["entity_f1"]


def test_the_improvement_is_on_the_gate_metric(tiny_bert_dir: Path, tmp_path: Path) -> None:
    params = parse_params({"task": "token_classification", "model": {"base": str(tiny_bert_dir), "max_length": 32},
                           "registry": {"primary_metric": "token_accuracy"}})
    connect(params.tracking)
    data = prepared_ner(n_train=40, n_validation=5, n_test=10)
    summary = run_evaluate(params, data, model_dir=_save_untrained(params, data, tmp_path / "model"),
                           eval_file=tmp_path / "eval.json", confusion_file=tmp_path / "cm.csv", curve_file=None)
    assert summary["primary_metric"] == "token_accuracy"
    assert summary["improvement"]["crf"] == pytest.approx(
        summary["fine_tuned"]["token_accuracy"] - summary["crf"]["token_accuracy"])


def test_data_prepared_for_another_task_or_without_tokens_is_a_data_error(tiny_bert_dir: Path, tmp_path: Path) -> None:
    params, data = _ner_params(tiny_bert_dir), prepared_ner(n_train=20, n_validation=5, n_test=5)
    model_dir = _save_untrained(params, data, tmp_path / "model")
    paths = {"model_dir": model_dir, "eval_file": tmp_path / "eval.json", "confusion_file": tmp_path / "cm.csv",
             "curve_file": None}
    classification = PreparedData(train=data.train, validation=data.validation, test=data.test, label_map=data.label_map,
                                  meta={"task": "classification"})
    with pytest.raises(DataError, match=r"holds classification data but params\.task is token_classification"):
        run_evaluate(params, classification, **paths)
    no_tokens = PreparedData(train=data.train, validation=data.validation, test=data.test.drop(columns=["tokens"]),
                             label_map=data.label_map, meta=data.meta)
    with pytest.raises(DataError, match="no 'tokens' column"):
        run_evaluate(params, no_tokens, **paths)
    assert not (tmp_path / "eval.json").exists()


def test_a_model_of_another_task_is_a_model_error(tiny_bert_dir: Path, tmp_path: Path) -> None:
    params, data = _ner_params(tiny_bert_dir), prepared_ner(n_train=20, n_validation=5, n_test=5)
    model_dir = save_classifier(tiny_bert_dir, tmp_path / "model")
    TrainedModelInfo(base_model=str(tiny_bert_dir), strategy="full", max_length=32).save(model_dir)
    with pytest.raises(ModelError, match=r"holds a classification model but params\.task is token_classification"):
        run_evaluate(params, data, model_dir=model_dir, eval_file=tmp_path / "eval.json",
                     confusion_file=tmp_path / "cm.csv", curve_file=None)
