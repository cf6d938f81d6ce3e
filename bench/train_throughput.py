"""Benchmark: sftops training vs a plain tutorial-style HF Trainer, side by side in one run.

Same model (the builtin MiniLM), same tweets, epochs, learning rate and schedule.
The plain run pads every text to max_length and samples batches at random, as
the usual tutorials do; sftops pads each batch to its longest text and groups
texts of similar length. Prints training samples/s, the time each run needs to
reach the same validation macro-F1, and the ratios.

    python bench/train_throughput.py [--train 400] [--validation 200] [--epochs 2] [--max-length 128]

Needs data/prepared/ (run `sftops prepare` first).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainerCallback, TrainingArguments

from sftops.config import load_params
from sftops.data.prepared import load_prepared
from sftops.defaults import resolve_model_dir
from sftops.training import apply_overrides, fine_tune
from sftops.training._data import subsample
from sftops.training._trainer import _compute_metrics


class Clock(TrainerCallback):
    """(seconds since training began, validation macro-F1) at each evaluation."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []
        self.start = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.points.append((time.perf_counter() - self.start, float(metrics["eval_macro_f1"])))


def plain_trainer(base, train, validation, labels, *, epochs, lr, batch, max_length, eval_steps, seed, clock):
    """The tutorial recipe: pad to max_length, random batches, default collator."""
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=len(labels))

    def encode(frame):
        enc = tokenizer(frame["text"].tolist(), padding="max_length", truncation=True, max_length=max_length)
        return [{**{k: enc[k][i] for k in enc}, "labels": int(y)} for i, y in enumerate(frame["label"])]

    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, per_device_train_batch_size=batch, per_device_eval_batch_size=64, num_train_epochs=epochs,
            learning_rate=lr, warmup_steps=0.1, weight_decay=0.01, eval_strategy="steps", eval_steps=eval_steps,
            save_strategy="no", logging_strategy="no", report_to="none", seed=seed, disable_tqdm=True,
            dataloader_pin_memory=False,
        )
        trainer = Trainer(model=model, args=args, train_dataset=encode(train), eval_dataset=encode(validation),
                          compute_metrics=_compute_metrics, callbacks=[clock])
        start = time.perf_counter()
        output = trainer.train()
        return time.perf_counter() - start, output.metrics["train_samples_per_second"]


def time_to(points: list[tuple[float, float]], target: float) -> float:
    return next(t for t, f1 in points if f1 >= target - 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--validation", type=int, default=200)
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    params = apply_overrides(load_params(args.params), {
        "train.epochs": args.epochs, "train.batch_size": args.batch_size, "model.max_length": args.max_length,
        "model.strategy": "full", "train.early_stopping_patience": 1000, "train.learning_rate": 1e-4,
    })
    data = load_prepared()
    train = subsample(data.train, args.train, 0)
    validation = subsample(data.validation, args.validation, 0)
    eval_steps = max(1, -(-len(train) // args.batch_size) // 2)  # two evaluations per epoch

    ours = Clock()
    start = time.perf_counter()
    result = fine_tune(params, data.label_map, train, validation, callbacks=[ours], eval_steps=eval_steps,
                       keep_best=False)
    ours_seconds = time.perf_counter() - start
    plain = Clock()
    plain_seconds, plain_sps = plain_trainer(
        str(resolve_model_dir(params.model.base)), train, validation, data.label_map, epochs=args.epochs,
        lr=params.train.learning_rate, batch=args.batch_size, max_length=args.max_length, eval_steps=eval_steps,
        seed=params.train.seed, clock=plain,
    )

    target = min(max(f for _, f in ours.points), max(f for _, f in plain.points))
    t_ours, t_plain = time_to(ours.points, target), time_to(plain.points, target)
    lengths = np.array([len(x) for x in AutoTokenizer.from_pretrained(resolve_model_dir(params.model.base))(
        train["text"].tolist(), truncation=True, max_length=args.max_length)["input_ids"]])
    print(f"{len(train)} train / {len(validation)} validation tweets, {args.epochs:g} epochs, batch {args.batch_size}, "
          f"max_length {args.max_length} (mean tokens {lengths.mean():.1f})")
    print(f"{'':28}{'samples/s':>12}{'wall s':>10}{'best F1':>10}{'s to F1 ' + format(target, '.3f'):>16}")
    print(f"{'sftops (dynamic+grouped)':28}{result.samples_per_second:>12.1f}{ours_seconds:>10.1f}"
          f"{max(f for _, f in ours.points):>10.3f}{t_ours:>16.1f}")
    print(f"{'plain HF (pad to max_len)':28}{plain_sps:>12.1f}{plain_seconds:>10.1f}"
          f"{max(f for _, f in plain.points):>10.3f}{t_plain:>16.1f}")
    print(f"ratio: samples/s x{result.samples_per_second / plain_sps:.2f}, "
          f"time to macro-F1 {target:.3f} x{t_plain / t_ours:.2f}")


if __name__ == "__main__":
    main()
