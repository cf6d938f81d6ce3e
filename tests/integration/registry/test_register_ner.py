"""The register stage for a token classifier against a real MLflow server: the gate compares entity F1 of the served
bundles, version tags and run metrics name the task's metrics, and the model logs as a token-classification pipeline.

Two tiny-BERT taggers with fresh heads (seeds 0 and 1); the test split's gold tags are the seed-0 bundle's own
answers, so it scores entity F1 1.0 and the seed-1 one less: the gate's outcome is known in advance.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from sftops.registry import audit_history

NAME = "reg-ner"
MAX_LENGTH = 32
EVAL_SCORES = {"entity_precision": 0.6, "entity_recall": 0.8, "entity_f1": 0.7, "token_accuracy": 0.9, "per_type": {}}


def _export(model_dir: Path, prepared: Path, folder: Path) -> Path:
    from sftops.config import ExportConfig
    from sftops.data.prepared import load_prepared
    from sftops.export import export_bundle

    export_bundle(model_dir, load_prepared(prepared), ExportConfig(variants=[], parity_atol=0.01), max_length=MAX_LENGTH,
                  target=folder)
    return folder


@pytest.fixture(scope="module")
def ner_project(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from sftops.inference import TaggerRuntime, load_runtime
    from sftops.testing.ner_data import prepared_ner
    from sftops.testing.tiny_bert import save_token_classifier

    base = tmp_path_factory.mktemp("ner-registry")
    root = base / "project"
    data = prepared_ner(n_train=40, n_validation=15, n_test=30)
    prepared = root / "data" / "prepared"
    prepared.mkdir(parents=True)
    for split in ("train", "validation", "test"):
        data.split(split).to_parquet(prepared / f"{split}.parquet")
    (prepared / "meta.json").write_text(json.dumps(data.meta))
    good = save_token_classifier(tiny_bert_dir, root / "models" / "model", seed=0, max_length=MAX_LENGTH)
    other = save_token_classifier(tiny_bert_dir, base / "other-model", seed=1, max_length=MAX_LENGTH)
    good_bundle = _export(good, prepared, root / "models" / "onnx")
    other_bundle = _export(other, prepared, base / "other-bundle")

    runtime = load_runtime(good_bundle, device="cpu")
    assert isinstance(runtime, TaggerRuntime)
    test = data.test.copy()
    test["tags"] = runtime.tag_words(list(test["tokens"]))
    test["tag_ids"] = [[data.label_map.label2id[t] for t in tags] for tags in test["tags"]]
    assert sum(tag != "O" for tags in test["tags"] for tag in tags) > 0  # the fresh head does tag entities
    test.to_parquet(prepared / "test.parquet")
    metrics = root / "metrics"
    metrics.mkdir()
    (metrics / "eval.json").write_text(json.dumps({
        "fine_tuned": EVAL_SCORES, "untuned": EVAL_SCORES, "crf": EVAL_SCORES, "primary_metric": "entity_f1",
    }))
    return {"root": root, "good": good, "other": other, "good_bundle": good_bundle, "other_bundle": other_bundle}


@pytest.fixture(scope="module")
def registered(mlflow_server_url: str, ner_project: dict[str, Path], register, reset_mlflow_globals) -> dict:
    from sftops.config import parse_params

    root = ner_project["root"]
    params = parse_params({"task": "token_classification", "tracking": {"uri": mlflow_server_url, "experiment": "ner-registry"},
                           "registry": {"model_name": NAME}})
    paths = {"eval_file": root / "metrics/eval.json", "prepared_dir": root / "data/prepared", "project_dir": root}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", mlflow_server_url)
        first = register(params, model_dir=ner_project["other"], bundle_dir=ner_project["other_bundle"], **paths)
        second = register(params, model_dir=ner_project["good"], bundle_dir=ner_project["good_bundle"], **paths)
        third = register(params, model_dir=ner_project["other"], bundle_dir=ner_project["other_bundle"], **paths)
    reset_mlflow_globals()
    return {"first": first, "second": second, "third": third}


def test_the_gate_compares_entity_f1_of_the_served_bundles(registered: dict, mlflow_server_url: str) -> None:
    first, second, third = registered["first"], registered["second"], registered["third"]
    assert first.metric == second.metric == "entity_f1"
    assert (first.decision, second.decision, third.decision) == ("promoted", "promoted", "rejected")
    assert second.scores["2"] == pytest.approx(1.0) and second.scores["1"] < 1.0
    assert third.champion == "2" and "does not beat champion 1.0000" in third.reason
    entry = audit_history(MlflowClient(mlflow_server_url), NAME)[-1]
    assert entry.metric == "entity_f1" and entry.variants == {"3": "fp32", "2": "fp32"}


def test_version_tags_and_run_metrics_name_the_taggers_metrics(registered: dict, mlflow_server_url: str) -> None:
    client = MlflowClient(mlflow_server_url)
    version = client.get_model_version(NAME, "2")
    tags = version.tags
    assert tags["sftops.task"] == "token_classification"
    assert float(tags["sftops.metric.test_entity_f1"]) == 0.7 and float(tags["sftops.metric.test_token_accuracy"]) == 0.9
    assert float(tags["sftops.metric.test_entity_f1_onnx"]) == pytest.approx(1.0)
    assert not any("macro_f1" in key for key in tags)
    metrics = client.get_run(version.run_id).data.metrics
    assert metrics["test_entity_f1"] == 0.7 and metrics["gate_test_entity_f1"] == pytest.approx(1.0)
    assert "test_macro_f1" not in metrics


def test_the_onnx_pyfunc_answers_entities_and_the_pipeline_stays_in_the_run(registered: dict, mlflow_server_url: str) -> None:
    import mlflow

    mlflow.set_tracking_uri(mlflow_server_url)
    uri = f"models:/{NAME}@champion"
    info = mlflow.models.get_model_info(uri)
    assert info.signature.inputs.input_types() == [mlflow.types.DataType.string]
    assert info.signature.outputs.input_names() == ["entities"]
    assert info.metadata["sftops_task"] == "token_classification" and info.metadata["entity_types"] == ["LOC", "PER"]
    texts = ["anna flew to paris", "nothing here"]
    answers = mlflow.pyfunc.load_model(uri).predict(texts)
    assert list(answers.columns) == ["entities"] and len(answers) == 2
    found = [e for row in answers["entities"] for e in row]
    assert found, "the fresh head tags some words as entities"
    for text, row in zip(texts, answers["entities"]):
        for entity in row:
            assert entity["type"] in {"LOC", "PER"} and text[entity["start"]:entity["end"]] == entity["text"]
    pipeline_uri = MlflowClient(mlflow_server_url).get_model_version(NAME, "2").tags["sftops.transformers_model_uri"]
    assert mlflow.models.get_model_info(pipeline_uri).flavors["transformers"]["task"] == "token-classification"
