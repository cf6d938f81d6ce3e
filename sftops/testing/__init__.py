"""Deterministic tiny fakes for tests, shipped with the package (like optuna.testing)."""

from .datasets import doc_paragraphs, make_text_dataset, prepared_from_frames
from .tiny_bert import make_tiny_bert, save_classifier

__all__ = ["doc_paragraphs", "make_text_dataset", "make_tiny_bert", "prepared_from_frames", "save_classifier"]
