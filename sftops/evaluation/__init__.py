"""Test-set evaluation: the fine-tuned model against an untuned model and a classic baseline.

Classification: TF-IDF + logistic regression; token classification: a CRF on word features, with
entity-level metrics and a confusion over entity types that counts missed and spurious entities.
"""

from ..entity_metrics import entity_metrics
from ._crf import crf_tags, word_features
from ._metrics import classification_metrics
from ._stage import run_evaluate
from ._type_confusion import MISSED, SPURIOUS, entity_confusion_matrix, entity_confusion_rows

__all__ = [
    "MISSED",
    "SPURIOUS",
    "classification_metrics",
    "crf_tags",
    "entity_confusion_matrix",
    "entity_confusion_rows",
    "entity_metrics",
    "run_evaluate",
    "word_features",
]
