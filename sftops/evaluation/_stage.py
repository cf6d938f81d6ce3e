"""The evaluate stage: test-split metrics of the fine-tuned model and both baselines, to files and MLflow."""

from __future__ import annotations

import csv
import logging
import tempfile
from pathlib import Path
from typing import Any

import mlflow

from ..atomic import atomic_path, write_json
from ..config import Params
from ..data.prepared import PreparedData
from ..modeling import TrainedModelInfo, check_model_dir, predict_logits
from ..paths import CONFUSION_FILE, CURVE_FILE, EVAL_FILE, MODEL_DIR
from ..tracking import flat_params, lineage_tags
from ._baselines import tfidf_logreg_predictions, untuned_predictions
from ._metrics import classification_metrics, confusion_rows
from ._plots import plot_confusion, report_text

log = logging.getLogger(__name__)


def _write_confusion(rows: list[dict[str, str]], path: Path) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["actual", "predicted"])
        writer.writeheader()
        writer.writerows(rows)


def _mlflow_metrics(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    flat = {}
    for model, metrics in results.items():
        prefix = "test" if model == "fine_tuned" else f"{model}_test"
        flat[f"{prefix}_accuracy"] = metrics["accuracy"]
        flat[f"{prefix}_macro_f1"] = metrics["macro_f1"]
        for label, row in metrics["per_class"].items():
            for key in ("precision", "recall", "f1"):
                flat[f"{prefix}_{key}_{label}"] = row[key]
    return flat


def run_evaluate(
    params: Params,
    data: PreparedData,
    *,
    model_dir: str | Path = MODEL_DIR,
    eval_file: str | Path = EVAL_FILE,
    confusion_file: str | Path = CONFUSION_FILE,
    curve_file: str | Path | None = CURVE_FILE,
) -> dict[str, Any]:
    """Score the saved model, the untuned base model and TF-IDF + LogReg on the test split; write and log it all.

    Logs to the MLflow experiment the caller connected to (`sftops.stages.evaluate` connects).

    Raises:
        ModelError: `model_dir` holds no trained model, or the base model cannot be loaded."""
    model_dir = check_model_dir(model_dir)
    info = TrainedModelInfo.load(model_dir)
    test, labels = data.test, data.label_map
    texts, y_true = test["text"].astype(str).tolist(), test["label"].astype(int).to_numpy()
    batch = params.train.eval_batch_size
    predictions = {
        "fine_tuned": predict_logits(model_dir, texts, batch_size=batch, max_length=info.max_length).argmax(axis=1),
        "untuned": untuned_predictions(params.model.model_copy(update={"base": info.base_model}), labels, texts,
                                       seed=params.train.seed, batch_size=batch),
        "tfidf_logreg": tfidf_logreg_predictions(data.train["text"].astype(str), data.train["label"], texts,
                                                 seed=params.train.seed),
    }
    full = {name: classification_metrics(y_true, pred, labels) for name, pred in predictions.items()}
    results = {name: {k: v for k, v in m.items() if k != "confusion_matrix"} for name, m in full.items()}
    summary = {**results, "test_examples": len(test), "model_train_run_id": info.train_run_id}

    tags = {**lineage_tags(params), "sftops.stage": "evaluate"}
    if info.train_run_id:
        tags["sftops.train_run_id"] = info.train_run_id
    with mlflow.start_run(run_name="evaluate", tags=tags) as run:
        mlflow.log_params(flat_params(params, ("data", "model")))
        mlflow.log_metrics(_mlflow_metrics(results))
        write_json(eval_file, {**summary, "run_id": run.info.run_id})
        _write_confusion(confusion_rows(y_true, predictions["fine_tuned"], labels), Path(confusion_file))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for name, metrics in full.items():
                plot_confusion(metrics["confusion_matrix"], labels, folder / f"confusion_matrix_{name}.png",
                               f"{name} (test macro-F1 {metrics['macro_f1']:.3f})")
            (folder / "classification_report.txt").write_text(report_text(results), encoding="utf-8")
            mlflow.log_artifacts(str(folder), "evaluation")
        mlflow.log_artifact(str(eval_file), "evaluation")
        mlflow.log_artifact(str(confusion_file), "plots")
        if curve_file is not None and Path(curve_file).is_file():
            mlflow.log_artifact(str(curve_file), "plots")
    log.info("test macro-F1: fine-tuned %.4f, untuned %.4f, TF-IDF+LogReg %.4f -> %s (MLflow run %s)",
             results["fine_tuned"]["macro_f1"], results["untuned"]["macro_f1"], results["tfidf_logreg"]["macro_f1"],
             eval_file, run.info.run_id)
    return {**summary, "run_id": run.info.run_id}
