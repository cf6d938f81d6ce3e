"""Test-set evaluation: the fine-tuned model against an untuned model and a classic baseline.

Classification: TF-IDF + logistic regression; token classification: a CRF on word features, with
entity-level metrics and a confusion over entity types that counts missed and spurious entities.
The fine-tuned model's per-example predictions are kept (predictions.jsonl) for calibration and error review.
"""

from ..entity_metrics import entity_metrics
from ._calibration import Reliability, ReliabilityBin, reliability
from ._crf import crf_tags, word_features
from ._metrics import classification_metrics
from ._plots import plot_confusion, plot_counts, plot_entity_confusion, plot_label_f1, plot_reliability
from ._predictions import (
    PREDICTIONS_FILE,
    classifier_prediction_rows,
    read_predictions,
    softmax,
    tagger_prediction_rows,
    write_predictions,
)
from ._stage import run_evaluate
from ._type_confusion import MISSED, SPURIOUS, entity_confusion_matrix, entity_confusion_rows

__all__ = [
    "MISSED",
    "PREDICTIONS_FILE",
    "SPURIOUS",
    "Reliability",
    "ReliabilityBin",
    "classification_metrics",
    "classifier_prediction_rows",
    "crf_tags",
    "entity_confusion_matrix",
    "entity_confusion_rows",
    "entity_metrics",
    "plot_confusion",
    "plot_counts",
    "plot_entity_confusion",
    "plot_label_f1",
    "plot_reliability",
    "read_predictions",
    "reliability",
    "run_evaluate",
    "softmax",
    "tagger_prediction_rows",
    "word_features",
    "write_predictions",
]
