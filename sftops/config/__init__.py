"""Typed pipeline params: `load_params("params.yaml")` returns a validated `Params`."""

from ._augment import AugmentConfig
from ._data import DataConfig, SplitCaps, SplitFractions, SplitSources
from ._drift import ALL_DETECTORS, DriftConfig, RetrainConfig
from ._export import ExportConfig
from ._model import LoraConfig, ModelConfig
from ._params import TASK_METRICS, Params, Task, load_params, parse_params
from ._registry import RegistryConfig
from ._serve import ServeConfig
from ._tracking import TrackingConfig
from ._train import TrainConfig
from ._tune import Categorical, FloatRange, IntRange, TuneConfig

__all__ = [
    "ALL_DETECTORS",
    "TASK_METRICS",
    "AugmentConfig",
    "Categorical",
    "DataConfig",
    "DriftConfig",
    "ExportConfig",
    "FloatRange",
    "IntRange",
    "LoraConfig",
    "ModelConfig",
    "Params",
    "RegistryConfig",
    "RetrainConfig",
    "ServeConfig",
    "SplitCaps",
    "SplitFractions",
    "SplitSources",
    "Task",
    "TrackingConfig",
    "TrainConfig",
    "TuneConfig",
    "load_params",
    "parse_params",
]
