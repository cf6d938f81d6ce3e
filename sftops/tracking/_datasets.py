"""Log the prepared splits a run used with MLflow dataset tracking: the runs table's Dataset column, filterable.

Each split is an `mlflow.data` pandas dataset named `<prepared dir>/<split>` (its parquet file as the source),
with the DVC hash of the prepared data as its digest (the prepared-data fingerprint in meta.json when no
dvc.lock names it), the split as the input's context and the schema MLflow infers from the frame. Same data
version, same digest: `dataset.digest = '<hash>'` finds every run on it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..paths import PREPARED_DIR, SPLITS, split_file
from ._lineage import data_hash

if TYPE_CHECKING:
    from mlflow.data.pandas_dataset import PandasDataset

    from ..data.prepared import PreparedData

_DIGEST_LEN = 36  # MLflow's datasets.digest column


def data_digest(data: PreparedData, cwd: str | Path = ".") -> str | None:
    """The prepared data's version: the md5 dvc.lock records for it, else meta.json's content fingerprint."""
    digest = data_hash(Path(cwd) / "dvc.lock", PREPARED_DIR) or data.meta.get("fingerprint")
    return str(digest)[:_DIGEST_LEN] if digest else None


def split_dataset(data: PreparedData, split: str, digest: str | None, prepared_dir: str | Path = PREPARED_DIR) -> PandasDataset:
    """One split as an MLflow dataset: source its parquet file, targets the label (or tag) column, `digest` as given."""
    from mlflow.data.pandas_dataset import from_pandas

    frame = data.split(split)
    target = "tags" if "tags" in frame.columns else "label"
    return from_pandas(
        frame, source=str(split_file(split, Path(prepared_dir))), targets=target if target in frame.columns else None,
        name=f"{Path(prepared_dir).as_posix()}/{split}", digest=digest,
    )


def log_splits(run_id: str, data: PreparedData, splits: Sequence[str] = SPLITS, *, cwd: str | Path = ".",
               prepared_dir: str | Path = PREPARED_DIR) -> None:
    """Log `splits` of `data` as the run's dataset inputs, each with its split as context, in one request."""
    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    digest = data_digest(data, cwd)
    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values (ours never miss) and that a path
        # "can be interpreted in multiple ways" (both ways are the same local-file source)
        warnings.simplefilter("ignore", UserWarning)
        inputs = [
            # _to_mlflow_entity is what mlflow.log_input itself sends; the client API takes entities, for any run id
            DatasetInput(split_dataset(data, split, digest, prepared_dir)._to_mlflow_entity(),
                         tags=[InputTag(MLFLOW_DATASET_CONTEXT, split)])
            for split in splits
        ]
    MlflowClient().log_inputs(run_id, datasets=inputs)
