"""Fine-tune a classifier (per text, or per token for NER) with the HF Trainer: dynamic padding, length grouping,
early stopping on the task's validation metric (macro-F1, or entity F1)."""

from ._best_params import BestParams
from ._callbacks import MlflowStepLogger
from ._data import subsample
from ._distributed import (
    is_main_process,
    launch_torchrun,
    main_process_first,
    process_group,
    refuse_multiprocess,
    world_size,
)
from ._metrics import selection_metric
from ._overrides import apply_overrides
from ._precision import resolve_precision
from ._stage import TrainOutputs, run_train
from ._trainer import FineTuneResult, fine_tune

__all__ = [
    "BestParams",
    "FineTuneResult",
    "MlflowStepLogger",
    "TrainOutputs",
    "apply_overrides",
    "fine_tune",
    "is_main_process",
    "launch_torchrun",
    "main_process_first",
    "process_group",
    "refuse_multiprocess",
    "resolve_precision",
    "run_train",
    "selection_metric",
    "subsample",
    "world_size",
]
