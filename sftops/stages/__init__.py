"""The pipeline's stages as library functions of one form: `stage(project=".", params=None, **options) -> report`.

Each runs with the project folder as working folder (every relative path in params.yaml means "in the project",
as under `dvc repro`), loads `<project>/params.yaml` when `params` is None, connects to tracking once if it logs,
writes its outputs into the project and returns a `StageReport` subclass. Not thread-safe (the working folder is
process-wide)."""

from ._evaluate import evaluate
from ._export import export
from ._prepare import prepare
from ._project import project_root
from ._register import register
from ._report import (
    EvaluateReport,
    ExportStageReport,
    PrepareReport,
    RegisterReport,
    SourceReport,
    StageReport,
    TrainReport,
    TuneReport,
)
from ._source import source
from ._train import train
from ._tune import tune

__all__ = [
    "EvaluateReport",
    "ExportStageReport",
    "PrepareReport",
    "RegisterReport",
    "SourceReport",
    "StageReport",
    "TrainReport",
    "TuneReport",
    "evaluate",
    "export",
    "prepare",
    "project_root",
    "register",
    "source",
    "train",
    "tune",
]
