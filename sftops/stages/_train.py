"""The `train` stage: fine-tune with params.yaml + models/best_params.json -> models/model/, metrics/train.json."""

from __future__ import annotations

from pathlib import Path

from ..config import Params
from ..paths import BEST_PARAMS_FILE
from ._report import TrainReport
from ._runner import StageContext, run_stage


def train(project: str | Path = ".", params: Params | None = None, *, tuned: bool = True) -> TrainReport:
    """Fine-tune the base model on the prepared splits, with the tuned params on top unless `tuned=False`.

    Raises:
        ConfigError: no project folder / params.yaml, invalid params, or no best_params.json while `tuned`.
        DataError: no prepared data (run `prepare` first).
        ModelError: model.base is not a usable model.
        TrackingError: the tracking store is unreachable (checked before training)."""
    return run_stage("train", project, params, lambda ctx: _train(ctx, tuned))


def _train(ctx: StageContext, tuned: bool) -> TrainReport:
    from ..data import load_prepared
    from ..training import TrainOutputs, run_train

    files = TrainOutputs()
    metrics = run_train(ctx.params, load_prepared(), best_params_file=BEST_PARAMS_FILE if tuned else None,
                        outputs=files)
    run_id = metrics.pop("run_id", None)
    outputs = ctx.outputs(model=files.model_dir, metrics=files.metrics_file, curve=files.curve_file)
    return TrainReport(**ctx.common(outputs, metrics, (str(run_id) if run_id else None,)))
