"""Token classification on the test split: the fine-tuned tagger vs the untuned model and a CRF on word features.

Every model tags the prepared words of each test sentence (the `tokens` column, the words the server
splits a text into); entity_metrics scores the tags against the gold IOB2 tags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Params
from ..data.prepared import PreparedData
from ..entity_metrics import entity_metrics
from ..exceptions import DataError
from ..modeling import TrainedModelInfo, predict_word_tags
from ..tagging import entity_types, spans_of
from ._baselines import untuned_word_tags
from ._crf import crf_tags
from ._evaluation import Evaluation
from ._plots import entity_report_text, plot_entity_confusion, plot_label_f1
from ._predictions import PREDICTIONS_FILE, tagger_prediction_rows, write_predictions
from ._type_confusion import entity_confusion_matrix, entity_confusion_rows

BASELINES = ("untuned", "crf")
_SCORES = ("entity_precision", "entity_recall", "entity_f1", "token_accuracy")


def _sentences(frame: pd.DataFrame, column: str, split: str) -> list[list[str]]:
    if column not in frame.columns:
        raise DataError(f"the prepared {split} split has no {column!r} column: it was not prepared for token "
                        "classification; rerun `sftops prepare` with task: token_classification")
    return [[str(x) for x in row] for row in frame[column]]


def _mlflow_metrics(results: dict[str, dict[str, Any]], improvement: dict[str, float], primary: str) -> dict[str, float]:
    flat: dict[str, float] = {}
    for model, metrics in results.items():
        prefix = "test" if model == "fine_tuned" else f"{model}_test"
        for key in _SCORES:
            flat[f"{prefix}_{key}"] = metrics[key]
        for kind, row in metrics["per_type"].items():
            for key in ("precision", "recall", "f1"):
                flat[f"{prefix}_{key}_{kind}"] = row[key]
    for baseline, delta in improvement.items():
        flat[f"test_{primary}_over_{baseline}"] = delta
    return flat


def _entity_types(data: PreparedData) -> list[str]:
    """meta.json's entity types (the prepared-data contract), else the ones the tag names name."""
    return list(data.meta.get("entity_types") or entity_types(data.label_map.names))


def evaluate_tagger(params: Params, data: PreparedData, model_dir: Path, info: TrainedModelInfo) -> Evaluation:
    """Entity P/R/F1, per type and token accuracy of the saved tagger, the untuned model and the CRF on the test split."""
    sentences = _sentences(data.test, "tokens", "test")
    gold = _sentences(data.test, "tags", "test")
    batch = params.train.eval_batch_size
    predictions = {
        "fine_tuned": predict_word_tags(model_dir, sentences, batch_size=batch, max_length=info.max_length),
        "untuned": untuned_word_tags(params.model.model_copy(update={"base": info.base_model}), data.label_map,
                                     sentences, seed=params.train.seed, batch_size=batch),
        "crf": crf_tags(_sentences(data.train, "tokens", "train"), _sentences(data.train, "tags", "train"), sentences),
    }
    results = {name: entity_metrics(gold, tags) for name, tags in predictions.items()}
    primary = params.registry.primary_metric
    improvement = {name: results["fine_tuned"][primary] - results[name][primary] for name in BASELINES}
    types = _entity_types(data)

    def figures(folder: Path) -> None:
        plot_label_f1(results, types, folder / "per_type_f1.png", "Entity F1 per type (test)")
        for name, tags in predictions.items():
            actual, predicted, matrix = entity_confusion_matrix(entity_confusion_rows(gold, tags), types)
            plot_entity_confusion(actual, predicted, matrix, folder / f"entity_confusion_{name}.png",
                                  f"{name} (test entity F1 {results[name]['entity_f1']:.3f})")
        (folder / "entity_report.txt").write_text(entity_report_text(results), encoding="utf-8")
        write_predictions(tagger_prediction_rows(sentences, gold, predictions["fine_tuned"]), folder / PREDICTIONS_FILE)

    headline = "test entity F1: fine-tuned {:.4f}, untuned {:.4f}, CRF {:.4f}".format(
        *(results[name]["entity_f1"] for name in ("fine_tuned", *BASELINES)))
    return Evaluation(
        summary={**results, "primary_metric": primary, "improvement": improvement, "test_examples": len(data.test),
                 "test_entities": sum(len(spans_of(tags)) for tags in gold)},
        metrics=_mlflow_metrics(results, improvement, primary),
        confusion_rows=entity_confusion_rows(gold, predictions["fine_tuned"]),
        figures=figures,
        headline=headline,
    )
