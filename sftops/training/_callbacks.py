"""Trainer callbacks: per-step metrics to the active MLflow run (rank 0 only), one quiet progress bar, and early
stopping that does not warn when the caller only wants the best score."""

from __future__ import annotations

import math
import sys

from transformers import EarlyStoppingCallback, ProgressCallback, TrainerCallback


class MlflowStepLogger(TrainerCallback):
    """Log every Trainer log entry (loss, learning_rate, eval_macro_f1, ...) to the active MLflow run."""

    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        import mlflow

        metrics = {
            key.replace("/", "_"): float(value)
            for key, value in logs.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        }
        if not metrics:
            return
        if self.run_id:
            mlflow.MlflowClient().log_batch(
                self.run_id,
                metrics=[mlflow.entities.Metric(k, v, _now_ms(), state.global_step) for k, v in metrics.items()],
            )
        else:
            mlflow.log_metrics(metrics, step=state.global_step)


class StepProgress(ProgressCallback):
    """The Trainer's own tqdm bar over the optimiser steps (with ETA), and nothing else: no evaluation bar and no raw
    log dicts on the terminal (they go to MLflow); no bar at all when stderr is not a terminal."""

    def on_train_begin(self, args, state, control, **kwargs):
        if sys.stderr.isatty():
            super().on_train_begin(args, state, control, **kwargs)
        self.current_step = 0

    def on_step_end(self, args, state, control, **kwargs):
        if self.training_bar is not None:
            super().on_step_end(args, state, control, **kwargs)

    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
        pass

    def on_log(self, args, state, control, logs=None, **kwargs):
        pass

    def on_train_end(self, args, state, control, **kwargs):
        if self.training_bar is not None:
            super().on_train_end(args, state, control, **kwargs)


class EarlyStopping(EarlyStoppingCallback):
    """EarlyStoppingCallback without its warning about `load_best_model_at_end`: trials stop early on purpose without
    loading the best checkpoint (they only report the best score), so the warning is noise there."""

    def on_train_begin(self, args, state, control, **kwargs):
        if not args.metric_for_best_model or args.eval_strategy == "no":
            raise ValueError("early stopping needs metric_for_best_model and an evaluation strategy")


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
