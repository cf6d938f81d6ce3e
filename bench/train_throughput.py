"""Benchmark: sftops training levers vs a plain tutorial-style HF Trainer, side by side in one run.

Same model (the builtin MiniLM), same tweets, epochs, learning rate and schedule.
The plain run pads every text to max_length and samples batches at random, as
the usual tutorials do. The sftops runs add one lever at a time: dynamic padding
with length-grouped batches (fp32), then bf16 autocast (CPU with AVX512-BF16/AMX,
or a GPU). Prints samples/s, the time each run needs to reach the same validation
macro-F1 (evaluation time included), test macro-F1, and every lever's ratio.

    python bench/train_throughput.py [--prepared data/prepared] [--train 400] [--validation 200] [--test 600]
        [--epochs 2] [--max-length 128] [--batch-size 32]

Needs prepared data (run `sftops prepare` first).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from sftops.config import load_params
from sftops.data.prepared import load_prepared
from sftops.exceptions import ConfigError
from sftops.modeling import logits_of, resolve_base_dir
from sftops.training import apply_overrides, fine_tune, subsample
from sftops.training._metrics import text_scores


class Clock(TrainerCallback):
    """(seconds since training began, validation macro-F1) at each evaluation."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []
        self.start = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.points.append((time.perf_counter() - self.start, float(metrics["eval_macro_f1"])))


@dataclass
class Run:
    """One recipe's figures."""

    name: str
    samples_per_second: float
    wall_seconds: float
    points: list[tuple[float, float]]
    test_f1: float

    @property
    def best(self) -> float:
        return max(f for _, f in self.points)


def plain_trainer(base, train, validation, test, labels, *, epochs, lr, batch, max_length, eval_steps, seed) -> Run:
    """The tutorial recipe: pad to max_length, random batches, default collator, fp32."""
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=len(labels))
    clock = Clock()

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
                          compute_metrics=text_scores, callbacks=[clock])
        trainer.remove_callback(PrinterCallback)
        start = time.perf_counter()
        output = trainer.train()
        wall = time.perf_counter() - start
    return Run("plain HF (pad to max_len, fp32)", output.metrics["train_samples_per_second"], wall, clock.points,
               _test_f1(trainer.model, tokenizer, test, max_length))


def sftops_run(name, params, data, train, validation, test, eval_steps) -> Run:
    """fine_tune as the train stage runs it, with `params`."""
    clock = Clock()
    start = time.perf_counter()
    result = fine_tune(params, data.label_map, train, validation, callbacks=[clock], eval_steps=eval_steps,
                       keep_best=False, show_progress=False)
    wall = time.perf_counter() - start
    return Run(name, result.samples_per_second, wall, clock.points,
               _test_f1(result.model, result.tokenizer, test, params.model.max_length))


def _test_f1(model, tokenizer, test, max_length: int) -> float:
    model.float()  # score every recipe in fp32: the test measures the weights, not the autocast
    preds = logits_of(model, tokenizer, test["text"].tolist(), batch_size=128, max_length=max_length).argmax(axis=-1)
    return float(f1_score(test["label"].to_numpy(), preds, average="macro", zero_division=0))


def _progress(run: Run) -> None:
    """One line per finished run on stderr, so a cut-short benchmark still shows what it measured."""
    print(f"done: {run.name}: {run.samples_per_second:.1f} samples/s, {run.wall_seconds:.1f} s, "
          f"(s, val F1) {[(round(t, 1), round(f, 3)) for t, f in run.points]}, test F1 {run.test_f1:.3f}",
          file=sys.stderr, flush=True)


def time_to(points: list[tuple[float, float]], target: float) -> float:
    return next(t for t, f1 in points if f1 >= target - 1e-9)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--prepared", default="data/prepared")
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--validation", type=int, default=200)
    parser.add_argument("--test", type=int, default=600)
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    params = apply_overrides(load_params(args.params), {
        "train.epochs": args.epochs, "train.batch_size": args.batch_size, "model.max_length": args.max_length,
        "model.strategy": "full", "train.early_stopping_patience": 1000, "train.learning_rate": 1e-4,
    })
    data = load_prepared(args.prepared)
    train = subsample(data.train, args.train, 0)
    validation = subsample(data.validation, args.validation, 0)
    test = subsample(data.test, args.test, 0)
    eval_steps = max(1, -(-len(train) // args.batch_size) // 2)  # two evaluations per epoch

    runs = [plain_trainer(
        str(resolve_base_dir(params.model)), train, validation, test, data.label_map, epochs=args.epochs,
        lr=params.train.learning_rate, batch=args.batch_size, max_length=args.max_length, eval_steps=eval_steps,
        seed=params.train.seed,
    )]
    _progress(runs[0])
    levers = [("+ dynamic pad, grouped (fp32)", {"train.precision": "fp32"}),
              ("+ bf16 autocast", {"train.precision": "bf16"})]
    for name, overrides in levers:
        try:
            runs.append(sftops_run(name, apply_overrides(params, overrides), data, train, validation, test,
                                   eval_steps))
        except ConfigError as err:
            print(f"skipped {name!r}: {err}")
            continue
        _progress(runs[-1])

    target = min(run.best for run in runs)
    lengths = np.array([len(x) for x in AutoTokenizer.from_pretrained(resolve_base_dir(params.model))(
        train["text"].tolist(), truncation=True, max_length=args.max_length)["input_ids"]])
    print(f"{len(train)} train / {len(validation)} validation / {len(test)} test tweets, {args.epochs:g} epochs, "
          f"batch {args.batch_size}, max_length {args.max_length} (mean tokens {lengths.mean():.1f})")
    print(f"{'':32}{'samples/s':>10}{'wall s':>8}{'best val F1':>12}{'s to F1 ' + format(target, '.3f'):>16}"
          f"{'test F1':>9}{'x plain':>9}{'x prev':>8}")
    plain_t = previous_t = time_to(runs[0].points, target)
    for run in runs:
        t = time_to(run.points, target)
        print(f"{run.name:32}{run.samples_per_second:>10.1f}{run.wall_seconds:>8.1f}{run.best:>12.3f}{t:>16.1f}"
              f"{run.test_f1:>9.3f}{plain_t / t:>9.2f}{previous_t / t:>8.2f}")
        previous_t = t
    best = runs[-1]
    print(f"ratio {best.name.strip('+ ')} vs plain: samples/s x{best.samples_per_second / runs[0].samples_per_second:.2f}, "
          f"time to val macro-F1 {target:.3f} x{plain_t / time_to(best.points, target):.2f}")


if __name__ == "__main__":
    main()
