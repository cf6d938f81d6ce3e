"""The `prepare` stage: params.data -> data/prepared/{train,validation,test}.parquet + meta.json."""

from __future__ import annotations

from pathlib import Path

from ..config import Params
from ..paths import META_FILE, PREPARED_DIR
from ._report import PrepareReport
from ._runner import StageContext, run_stage


def prepare(project: str | Path = ".", params: Params | None = None) -> PrepareReport:
    """Load, clean, label-map and split the dataset named by data.source into the project's data/prepared/.

    Raises:
        ConfigError: no project folder / params.yaml, or invalid params.
        DataError: the dataset cannot be read or used (missing file or column, too few rows)."""
    return run_stage("prepare", project, params, _prepare, logs=False)


def _prepare(ctx: StageContext) -> PrepareReport:
    from ..data import prepare_dataset

    meta = prepare_dataset(ctx.params.data, PREPARED_DIR, task=ctx.params.task)
    metrics = {"rows_read": meta["rows_read"], "rows_kept": meta["rows_kept"],
               **{f"{split}.total": counts["total"] for split, counts in meta["counts"].items()}}
    return PrepareReport(**ctx.common(ctx.outputs(prepared=PREPARED_DIR, meta=META_FILE), metrics), meta=meta)
