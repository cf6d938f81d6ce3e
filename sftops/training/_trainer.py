"""One fine-tuning run with the HF Trainer, configured from the typed params."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..config import Params
from ..data.labels import LabelMap
from ..modeling import build_classifier, count_trainable, load_tokenizer, resolve_base_dir
from ._callbacks import EarlyStopping, StepProgress
from ._data import tokenize_frame, tokenize_tagged_frame
from ._metrics import argmax_logits, entity_scorer, selection_metric, text_scores
from ._precision import resolve_precision

log = logging.getLogger(__name__)


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
    metric: str = "eval_macro_f1"  # what best_metric measures (selection_metric of the task)
    data_stats: dict[str, int] = field(default_factory=dict)  # NER: entities_total / entities_truncated in train


def training_arguments(params: Params, output_dir: str, *, eval_steps: int | None, keep_best: bool, n_train: int,
                       hidden_size: int = 384):
    """TrainingArguments for `params.train`: AdamW, warmup + decay, length grouping, precision (chosen for a model of
    `hidden_size`), seeds."""
    from transformers import TrainingArguments

    cfg = params.train
    precision = resolve_precision(cfg.precision, hidden_size)
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
        average_tokens_across_devices=False,  # our heads average their own loss; True multiplies it by the world size
        max_grad_norm=cfg.max_grad_norm,
        eval_strategy=strategy,
        eval_steps=eval_steps,
        save_strategy="best" if keep_best else "no",
        save_total_limit=1 if keep_best else None,
        save_only_model=True,
        load_best_model_at_end=keep_best,
        metric_for_best_model=selection_metric(params.task),
        greater_is_better=True,
        logging_strategy="steps",
        logging_steps=max(1, min(50, steps_per_epoch // 10)),
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        seed=cfg.seed,
        data_seed=cfg.seed,
        include_for_metrics=["inputs"] if params.task == "token_classification" else [],  # see entity_scorer
        report_to="none",
        disable_tqdm=True,  # fine_tune swaps the printer this adds for StepProgress: one bar, no raw dicts
        use_cpu=precision == "bf16" and not _cuda(),  # bf16 autocast on CPU; otherwise the Trainer picks the device
        dataloader_num_workers=0,
        dataloader_pin_memory=_cuda(),
    )


@dataclass
class _TaskInputs:
    """What the Trainer needs that differs between the tasks."""

    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    collator: Any
    compute_metrics: Callable[..., dict[str, float]]
    preprocess_logits: Callable[..., Any] | None = None
    data_stats: dict[str, int] = field(default_factory=dict)


def _task_inputs(params: Params, label_map: LabelMap, tokenizer, train: pd.DataFrame,
                 validation: pd.DataFrame) -> _TaskInputs:
    from transformers import DataCollatorForTokenClassification, DataCollatorWithPadding

    max_length = params.model.max_length
    if params.task != "token_classification":
        return _TaskInputs(tokenize_frame(train, tokenizer, max_length), tokenize_frame(validation, tokenizer, max_length),
                           DataCollatorWithPadding(tokenizer), text_scores)
    all_subtokens = params.model.label_all_subtokens
    train_set = tokenize_tagged_frame(train, tokenizer, max_length, label_map, label_all_subtokens=all_subtokens)
    eval_set = tokenize_tagged_frame(validation, tokenizer, max_length, label_map, label_all_subtokens=all_subtokens)
    if train_set.entities_truncated:
        log.warning("model.max_length %d cuts %d of the %d entities in the training split (they lose their labels); "
                    "raise model.max_length to keep them", max_length, train_set.entities_truncated,
                    train_set.entities_total)
    return _TaskInputs(
        train_set.examples, eval_set.examples, DataCollatorForTokenClassification(tokenizer),
        entity_scorer(eval_set, label_map.names, int(tokenizer.pad_token_id or 0)), argmax_logits,
        {"entities_total": train_set.entities_total, "entities_truncated": train_set.entities_truncated},
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
    show_progress: bool = True,
) -> FineTuneResult:
    """Fine-tune `params.model` for `params.task` on `train`, with early stopping on the task's validation metric
    (macro-F1 per text; entity F1 for token classification, where `label_map` holds the tag names).

    With `keep_best` the returned model is the best validation checkpoint; trials
    pass False and only need the best score. `show_progress` draws one step bar with an ETA on a terminal (a caller
    with its own bar, e.g. over trials, passes False).
    """
    from transformers import PrinterCallback, Trainer

    base_dir = resolve_base_dir(params.model)
    tokenizer = load_tokenizer(base_dir)
    model = build_classifier(params.model, label_map, seed=params.train.seed, base_dir=base_dir, task=params.task)
    trainable, total = count_trainable(model)
    inputs = _task_inputs(params, label_map, tokenizer, train, validation)
    metric = selection_metric(params.task)
    with tempfile.TemporaryDirectory(prefix="sftops-train-") as out:
        args = training_arguments(
            params, out, eval_steps=eval_steps or params.train.eval_steps, keep_best=keep_best,
            n_train=len(inputs.train), hidden_size=int(getattr(model.config, "hidden_size", 384)),
        )
        early = EarlyStopping(early_stopping_patience=params.train.early_stopping_patience)
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=inputs.train,
            eval_dataset=inputs.validation,
            processing_class=tokenizer,
            data_collator=inputs.collator,
            compute_metrics=inputs.compute_metrics,
            preprocess_logits_for_metrics=inputs.preprocess_logits,
            callbacks=[early, *callbacks],
        )
        trainer.remove_callback(PrinterCallback)
        if show_progress:
            trainer.add_callback(StepProgress)
        log.info("fine-tuning %s (%s, %s): %d of %d params trainable, %d train / %d validation examples",
                 params.model.base, params.task, params.model.strategy, trainable, total, len(inputs.train),
                 len(inputs.validation))
        start = time.perf_counter()
        output = trainer.train()
        seconds = time.perf_counter() - start
        state = trainer.state
        max_steps = state.max_steps
    return FineTuneResult(
        model=trainer.model,
        tokenizer=tokenizer,
        best_metric=state.best_metric if state.best_metric not in (None, float("-inf")) else None,
        best_step=_best_step(state.log_history, metric),
        global_step=state.global_step,
        epochs_run=float(state.epoch or 0.0),
        stopped_early=state.global_step < max_steps,
        train_seconds=seconds,
        train_samples=len(inputs.train),
        samples_per_second=float(output.metrics.get("train_samples_per_second", 0.0)),
        trainable_params=trainable,
        total_params=total,
        history=list(state.log_history),
        metric=metric,
        data_stats=inputs.data_stats,
    )


def _best_step(history: list[dict[str, float]], metric: str) -> int | None:
    evals = [h for h in history if metric in h]
    if not evals:
        return None
    return int(max(evals, key=lambda h: h[metric])["step"])


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
