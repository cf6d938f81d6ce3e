"""One fine-tuning run with the HF Trainer, configured from the typed params."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..config import Params
from ..data.labels import LabelMap
from ..defaults import resolve_model_dir
from ..modeling import build_classifier, count_trainable, load_tokenizer
from ._data import tokenize_frame
from ._precision import resolve_precision

log = logging.getLogger(__name__)

METRIC = "eval_macro_f1"


@dataclass
class FineTuneResult:
    """The trained model (best checkpoint when `keep_best`), its tokenizer, and what happened."""

    model: Any
    tokenizer: Any
    best_metric: float | None
    best_step: int | None
    global_step: int
    epochs_run: float
    stopped_early: bool
    train_seconds: float
    train_samples: int
    samples_per_second: float
    trainable_params: int
    total_params: int
    history: list[dict[str, float]] = field(default_factory=list)


def _compute_metrics(prediction) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    preds = np.asarray(logits).argmax(axis=-1)
    labels = np.asarray(prediction.label_ids)
    return {
        "macro_f1": float(f1_score(labels, preds, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(labels, preds)),
    }


def training_arguments(params: Params, output_dir: str, *, eval_steps: int | None, keep_best: bool, n_train: int):
    """TrainingArguments for `params.train`: AdamW, warmup + decay, length grouping, precision, seeds."""
    from transformers import TrainingArguments

    cfg = params.train
    precision = resolve_precision(cfg.precision)
    strategy = "steps" if eval_steps else "epoch"
    steps_per_epoch = max(1, n_train // (cfg.batch_size * cfg.gradient_accumulation_steps))
    return TrainingArguments(
        output_dir=output_dir,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.eval_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_train_epochs=float(cfg.epochs),
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        lr_scheduler_type=cfg.lr_scheduler,
        optim="adamw_torch",
        max_grad_norm=cfg.max_grad_norm,
        eval_strategy=strategy,
        eval_steps=eval_steps,
        save_strategy="best" if keep_best else "no",
        save_total_limit=1 if keep_best else None,
        save_only_model=True,
        load_best_model_at_end=keep_best,
        metric_for_best_model=METRIC,
        greater_is_better=True,
        logging_strategy="steps",
        logging_steps=max(1, min(50, steps_per_epoch // 10)),
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=_cuda(),
    )


def fine_tune(
    params: Params,
    label_map: LabelMap,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    *,
    callbacks: Sequence[Any] = (),
    eval_steps: int | None = None,
    keep_best: bool = True,
) -> FineTuneResult:
    """Fine-tune `params.model` on `train`, evaluating macro-F1 on `validation`, with early stopping.

    With `keep_best` the returned model is the best validation checkpoint; trials
    pass False and only need the best score.
    """
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer

    base_dir = resolve_model_dir(params.model.base)
    tokenizer = load_tokenizer(base_dir)
    model = build_classifier(params.model, label_map, seed=params.train.seed, base_dir=base_dir)
    trainable, total = count_trainable(model)
    train_ds = tokenize_frame(train, tokenizer, params.model.max_length)
    eval_ds = tokenize_frame(validation, tokenizer, params.model.max_length)
    with tempfile.TemporaryDirectory(prefix="sftops-train-") as out:
        args = training_arguments(
            params, out, eval_steps=eval_steps or params.train.eval_steps, keep_best=keep_best, n_train=len(train_ds)
        )
        early = EarlyStoppingCallback(early_stopping_patience=params.train.early_stopping_patience)
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=train_ds,
            eval_dataset=eval_ds,
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
            compute_metrics=_compute_metrics,
            callbacks=[early, *callbacks],
        )
        log.info("fine-tuning %s (%s): %d of %d params trainable, %d train / %d validation examples",
                 params.model.base, params.model.strategy, trainable, total, len(train_ds), len(eval_ds))
        start = time.perf_counter()
        output = trainer.train()
        seconds = time.perf_counter() - start
        state = trainer.state
        max_steps = state.max_steps
    best_step = _best_step(state.log_history)
    return FineTuneResult(
        model=trainer.model,
        tokenizer=tokenizer,
        best_metric=state.best_metric if state.best_metric not in (None, float("-inf")) else None,
        best_step=best_step,
        global_step=state.global_step,
        epochs_run=float(state.epoch or 0.0),
        stopped_early=state.global_step < max_steps,
        train_seconds=seconds,
        train_samples=len(train_ds),
        samples_per_second=float(output.metrics.get("train_samples_per_second", 0.0)),
        trainable_params=trainable,
        total_params=total,
        history=list(state.log_history),
    )


def _best_step(history: list[dict[str, float]]) -> int | None:
    evals = [h for h in history if METRIC in h]
    if not evals:
        return None
    return int(max(evals, key=lambda h: h[METRIC])["step"])


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
