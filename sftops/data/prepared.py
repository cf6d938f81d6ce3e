"""Read back what the prepare stage wrote: the three splits, the label map and meta.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import DataError
from ..paths import PREPARED_DIR, SPLITS, split_file
from .keys import text_key
from .labels import LabelMap

# data/prepared/train_keys.txt: the training split's text keys (keys.text_key), sorted, one a line; what
# the promotion gate compares a test split against to count test texts a model trained on
TRAIN_KEYS_FILE = "train_keys.txt"


@dataclass(frozen=True)
class PreparedData:
    """The train/validation/test frames plus their label map and meta.

    Classification frames have columns text, label, label_name; token classification frames text, tokens,
    tags, tag_ids, and the label map holds the tag names (O first)."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    label_map: LabelMap
    meta: dict[str, Any]

    @property
    def task(self) -> str:
        """"classification" or "token_classification": what prepare wrote (older meta.json files are classification)."""
        return str(self.meta.get("task", "classification"))

    def check_task(self, task: str) -> None:
        """Raise a DataError when this data was prepared for another task than `task` (params.task)."""
        if self.task != task:
            raise DataError(f"data/prepared holds {self.task} data but params.task is {task}; "
                            "rerun `sftops prepare` with these params (or set task back)")

    def split(self, name: str) -> pd.DataFrame:
        return {"train": self.train, "validation": self.validation, "test": self.test}[name]

    def keys(self, name: str) -> list[str]:
        """The sorted distinct text keys of one split (what train_keys.txt holds for train)."""
        return split_keys(self.split(name))


def split_keys(frame: pd.DataFrame) -> list[str]:
    """The sorted distinct `text_key`s of a split's texts."""
    return sorted({text_key(t) for t in frame["text"]})


def _with_lists(frame: pd.DataFrame) -> pd.DataFrame:
    """Token-classification list columns as Python lists (Parquet reads them back as numpy arrays)."""
    for column in ("tokens", "tags", "tag_ids"):
        if column in frame:
            frame[column] = [v.tolist() if hasattr(v, "tolist") else list(v) for v in frame[column]]
    return frame


def load_prepared(root: str | Path = PREPARED_DIR) -> PreparedData:
    """Load data/prepared/; a missing or partial folder is a DataError telling to run prepare."""
    root = Path(root)
    meta_path = root / "meta.json"
    if not meta_path.is_file():
        raise DataError(f"{root}: no prepared data; run `sftops prepare` (or `dvc repro prepare`) first")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    frames = {}
    for split in SPLITS:
        path = split_file(split, root)
        if not path.is_file():
            raise DataError(f"{path}: missing split; rerun `sftops prepare`")
        frames[split] = _with_lists(pd.read_parquet(path))
    return PreparedData(label_map=LabelMap.from_json(meta["label_map"]), meta=meta, **frames)
