"""sftops: supervised fine-tuning of pretrained transformers, wired into DVC, MLflow, Optuna and ONNX Runtime.

The Python API, for notebooks and scripts::

    import sftops

    report = sftops.stages.train("path/to/project")   # or prepare, tune, evaluate, export, register, source
    report.outputs["model"], report.metrics, report.run_id

Each stage takes the project folder (and optionally typed `sftops.Params`), runs as `dvc repro` would run it,
and returns a `sftops.StageReport`. The stages live in `sftops.stages` (not at the top level: `sftops.export` is
the ONNX export package). Everything here is imported on first use: MLflow imports `sftops.mlflow_plugin`, hence
this module, in every process, so `import sftops` must stay cheap (no torch, transformers or mlflow).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "stages": "sftops.stages",
    "Params": "sftops.config",
    "load_params": "sftops.config",
    "SftopsError": "sftops.exceptions",
    **{name: "sftops.stages" for name in (
        "StageReport", "SourceReport", "PrepareReport", "TuneReport", "TrainReport", "EvaluateReport",
        "ExportStageReport", "RegisterReport",
    )},
}

__all__ = [
    "EvaluateReport",
    "ExportStageReport",
    "Params",
    "PrepareReport",
    "RegisterReport",
    "SftopsError",
    "SourceReport",
    "StageReport",
    "TrainReport",
    "TuneReport",
    "__version__",
    "load_params",
    "stages",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports on first use
    from . import stages
    from .config import Params, load_params
    from .exceptions import SftopsError
    from .stages import (
        EvaluateReport,
        ExportStageReport,
        PrepareReport,
        RegisterReport,
        SourceReport,
        StageReport,
        TrainReport,
        TuneReport,
    )


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access (PEP 562)."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'sftops' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if name == "stages" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
