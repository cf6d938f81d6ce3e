"""The train stage: fine-tune with the tuned params, save the best model, log the run to MLflow."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow

from ..atomic import write_json
from ..config import Params
from ..data.prepared import PreparedData
from ..modeling import TrainedModelInfo, check_base, save_model
from ..paths import BEST_PARAMS_FILE, CURVE_FILE, MODEL_DIR, TRAIN_METRICS_FILE
from ..tracking import flat_params, git_state, lineage_tags, log_splits
from ._best_params import BestParams
from ._callbacks import MlflowStepLogger
from ._curves import plot_curve, write_curve
from ._distributed import is_main_process
from ._overrides import apply_overrides
from ._trainer import fine_tune

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOutputs:
    """Where the train stage writes."""

    model_dir: Path = MODEL_DIR
    metrics_file: Path = TRAIN_METRICS_FILE
    curve_file: Path = CURVE_FILE


def effective_params(params: Params, best_params_file: str | Path | None = BEST_PARAMS_FILE) -> Params:
    """params.yaml with the tuned values from best_params.json on top (none when the file is not given).

    Raises:
        ConfigError: the file is missing or malformed, or a tuned value is invalid."""
    if best_params_file is None:
        return params
    best = BestParams.load(best_params_file)
    return apply_overrides(params, best.params, source=str(best_params_file)) if best.params else params


def run_train(
    params: Params,
    data: PreparedData,
    *,
    best_params_file: str | Path | None = BEST_PARAMS_FILE,
    outputs: TrainOutputs = TrainOutputs(),
) -> dict[str, float | int | str | bool | None]:
    """Fine-tune, save the best model to `outputs.model_dir` and write the train metrics and curve.

    Logs to the MLflow experiment the caller connected to (`sftops.tracking.connect`; `sftops.stages.train` does).
    Under torchrun every rank trains (DDP); only rank 0 opens the MLflow run, logs and writes the outputs; the
    others return the metrics of their copy of the model, with no run_id.

    Raises:
        ConfigError: best_params_file is missing or malformed, or a tuned value is invalid.
        DataError: the data was prepared for another task than params.task.
        ModelError: model.base is not a usable model."""
    params = effective_params(params, best_params_file)
    data.check_task(params.task)
    check_base(params.model)
    rank0 = is_main_process()
    tags = {**lineage_tags(params), "sftops.stage": "train"} if rank0 else {}
    with mlflow.start_run(run_name="train", tags=tags) if rank0 else contextlib.nullcontext() as run:
        run_id = run.info.run_id if run else None
        if run_id:
            mlflow.log_params(flat_params(params, ("data", "model", "train")))
            log_splits(run_id, data, ("train", "validation"))
        result = fine_tune(params, data.label_map, data.train, data.validation,
                           callbacks=[MlflowStepLogger()] if rank0 else [])
        metrics: dict[str, float | int | str | bool | None] = {
            f"best_{result.metric}": result.best_metric,
            "best_step": result.best_step,
            "global_steps": result.global_step,
            "epochs_run": round(result.epochs_run, 3),
            "stopped_early": result.stopped_early,
            "train_seconds": round(result.train_seconds, 1),
            "train_samples_per_second": round(result.samples_per_second, 2),
            "trainable_params": result.trainable_params,
            "total_params": result.total_params,
            **result.data_stats,
        }
        if not rank0:
            return metrics
        commit, _ = git_state()
        info = TrainedModelInfo(
            train_run_id=run_id,
            params_hash=tags.get("sftops.params_hash"),
            data_hash=tags.get("sftops.data_hash"),
            git_commit=commit,
            base_model=params.model.base,
            strategy=params.model.strategy,
            max_length=params.model.max_length,
            task=params.task,
        )
        save_model(result.model, result.tokenizer, data.label_map, info, outputs.model_dir)
        write_curve(result.history, outputs.curve_file, params.task)
        write_json(outputs.metrics_file, {**metrics, "run_id": run_id})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))})
        mlflow.log_artifact(str(outputs.curve_file), "plots")
        with tempfile.TemporaryDirectory() as tmp:
            mlflow.log_artifact(str(plot_curve(result.history, Path(tmp) / "training_curve.png", params.task)), "plots")
        mlflow.log_artifact(str(outputs.model_dir / "sftops_model.json"), "model_info")
    log.info("trained: best %s %.4f at step %s; model -> %s (MLflow run %s)",
             result.metric, result.best_metric or 0.0, result.best_step, outputs.model_dir, run_id)
    return {**metrics, "run_id": run_id}
