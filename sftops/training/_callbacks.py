"""Trainer callbacks: per-step metrics to the active MLflow run (rank 0 only)."""

from __future__ import annotations

import math

from transformers import TrainerCallback


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


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
