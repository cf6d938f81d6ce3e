"""Deterministic tiny fakes for tests, shipped with the package (like optuna.testing)."""

from .datasets import doc_paragraphs, make_text_dataset
from .tiny_bert import make_tiny_bert

__all__ = ["doc_paragraphs", "make_text_dataset", "make_tiny_bert"]
