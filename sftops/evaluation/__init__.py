"""Test-set evaluation: the fine-tuned model against an untuned model and a TF-IDF baseline."""

from ._entities import entity_metrics
from ._metrics import classification_metrics
from ._stage import run_evaluate

__all__ = ["classification_metrics", "entity_metrics", "run_evaluate"]
