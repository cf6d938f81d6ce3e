"""Classification on the test split: the fine-tuned model vs the untuned model and TF-IDF + LogReg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import Params
from ..data.prepared import PreparedData
from ..modeling import TrainedModelInfo, predict_logits
from ._baselines import tfidf_logreg_predictions, untuned_predictions
from ._evaluation import Evaluation
from ._metrics import classification_metrics, confusion_rows
from ._plots import plot_confusion, report_text
from ._predictions import PREDICTIONS_FILE, classifier_prediction_rows, softmax, write_predictions


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


def evaluate_classifier(params: Params, data: PreparedData, model_dir: Path, info: TrainedModelInfo) -> Evaluation:
    """Accuracy, macro-F1 and per-class scores of the saved classifier and both baselines on the test split."""
    test, labels = data.test, data.label_map
    texts, y_true = test["text"].astype(str).tolist(), test["label"].astype(int).to_numpy()
    batch = params.train.eval_batch_size
    probs = softmax(predict_logits(model_dir, texts, batch_size=batch, max_length=info.max_length))
    predictions = {
        "fine_tuned": probs.argmax(axis=1),
        "untuned": untuned_predictions(params.model.model_copy(update={"base": info.base_model}), labels, texts,
                                       seed=params.train.seed, batch_size=batch),
        "tfidf_logreg": tfidf_logreg_predictions(data.train["text"].astype(str), data.train["label"], texts,
                                                 seed=params.train.seed),
    }
    full = {name: classification_metrics(y_true, pred, labels) for name, pred in predictions.items()}
    results = {name: {k: v for k, v in m.items() if k != "confusion_matrix"} for name, m in full.items()}

    def figures(folder: Path) -> None:
        for name, metrics in full.items():
            plot_confusion(metrics["confusion_matrix"], labels, folder / f"confusion_matrix_{name}.png",
                           f"{name} (test macro-F1 {metrics['macro_f1']:.3f})")
        (folder / "classification_report.txt").write_text(report_text(results), encoding="utf-8")
        write_predictions(classifier_prediction_rows(texts, y_true, probs, labels), folder / PREDICTIONS_FILE)

    headline = "test macro-F1: fine-tuned {:.4f}, untuned {:.4f}, TF-IDF+LogReg {:.4f}".format(
        *(results[name]["macro_f1"] for name in ("fine_tuned", "untuned", "tfidf_logreg")))
    return Evaluation(
        summary={**results, "test_examples": len(test)},
        metrics=_mlflow_metrics(results),
        confusion_rows=confusion_rows(y_true, predictions["fine_tuned"], labels),
        figures=figures,
        headline=headline,
    )
