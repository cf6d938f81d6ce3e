"""sftops.evaluation._stage: the evaluate stage against both baselines, its files and its MLflow run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import mlflow
import pytest

from sftops.data.prepared import load_prepared
from sftops.evaluation import PREDICTIONS_FILE, read_predictions, run_evaluate
from sftops.modeling import TrainedModelInfo, build_classifier, load_tokenizer, save_model
from sftops.tracking import connect


def test_evaluate_stage_compares_with_untuned_and_tfidf(make_params, prepared_dir, tmp_path):
    params = make_params()
    connect(params.tracking)
    data = load_prepared(prepared_dir)
    # an untrained model saved as "the fine-tuned one" must score exactly like the untuned baseline (same seed)
    model = build_classifier(params.model, data.label_map, seed=params.train.seed)
    save_model(model, load_tokenizer(params.model.base), data.label_map,
               TrainedModelInfo(base_model=params.model.base, strategy="full", max_length=32), tmp_path / "model")
    summary = run_evaluate(params, data, model_dir=tmp_path / "model", eval_file=tmp_path / "eval.json",
                           confusion_file=tmp_path / "cm.csv", curve_file=None)

    written = json.loads((tmp_path / "eval.json").read_text())
    assert {"fine_tuned", "untuned", "tfidf_logreg"} <= set(written)
    assert written["fine_tuned"]["macro_f1"] == written["untuned"]["macro_f1"]
    assert written["tfidf_logreg"]["macro_f1"] > 0.9  # the synthetic labels are in the words
    assert set(written["tfidf_logreg"]["per_class"]) == set(data.label_map.names)
    rows = list(csv.DictReader((tmp_path / "cm.csv").open()))
    assert len(rows) == len(data.test) and set(rows[0]) == {"actual", "predicted"}

    client = mlflow.MlflowClient()
    run = client.get_run(summary["run_id"])
    assert run.data.metrics["tfidf_logreg_test_macro_f1"] == written["tfidf_logreg"]["macro_f1"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert {"evaluation/confusion_matrix_fine_tuned.png", "evaluation/classification_report.txt"} <= artifacts
    kept = read_predictions(Path(client.download_artifacts(run.info.run_id, f"evaluation/{PREDICTIONS_FILE}", str(tmp_path))))
    assert [r["label"] for r in kept] == list(data.test["label_name"]) and len(kept[0]["probs"]) == len(data.label_map)
    assert sum(r["label"] == r["predicted"] for r in kept) / len(kept) == pytest.approx(written["fine_tuned"]["accuracy"])
    assert all(r["confidence"] == max(r["probs"]) for r in kept)
