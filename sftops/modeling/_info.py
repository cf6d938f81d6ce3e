"""`sftops_model.json` inside a saved model folder: where the model came from."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..config import Task
from ..exceptions import ModelError
from ..paths import LABEL_MAP_FILE
from ..records import load_record, save_record

MODEL_INFO_FILE = "sftops_model.json"


class TrainedModelInfo(BaseModel):
    """Lineage and settings of a trained model folder (its sftops_model.json).

    Not the served version's registry facts: those are sftops.registry.ResolvedModel."""

    model_config = ConfigDict(extra="ignore")

    train_run_id: str | None = None
    params_hash: str | None = None
    data_hash: str | None = None
    git_commit: str | None = None
    base_model: str
    strategy: str
    max_length: int = 128
    task: Task = "classification"  # folders written before token classification existed hold classifiers

    def save(self, folder: str | Path) -> Path:
        return save_record(self, Path(folder) / MODEL_INFO_FILE)

    @classmethod
    def load(cls, folder: str | Path) -> TrainedModelInfo:
        return load_record(cls, Path(folder) / MODEL_INFO_FILE, ModelError,
                           missing="not found; this folder was not written by `sftops train`",
                           malformed="malformed model info; retrain with `sftops train`")


def check_model_dir(model_dir: str | Path) -> Path:
    """`model_dir` if it holds a saved classifier (config, weights, label map); else a ModelError."""
    path = Path(model_dir)
    if not (path / "config.json").is_file():
        raise ModelError(f"{path}: no trained model here; run `sftops train` (or `dvc repro train`) first")
    return path


def has_label_map(model_dir: str | Path) -> bool:
    return (Path(model_dir) / LABEL_MAP_FILE).is_file()
