"""Datasets: load any source, repair and clean it, map labels, split it, and read the result back."""

from .labels import LabelMap
from .prepare import prepare_dataset
from .prepared import PreparedData, load_prepared

__all__ = ["LabelMap", "PreparedData", "load_prepared", "prepare_dataset"]
