"""Deterministic tiny fakes for tests, shipped with the package (like optuna.testing)."""

from .tiny_bert import make_tiny_bert
from .datasets import make_text_dataset

__all__ = ["make_text_dataset", "make_tiny_bert"]
