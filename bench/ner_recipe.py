"""The plain HF `run_ner` recipe vs sftops' fine_tune on the same NER split: entity F1 on test, wall time, ratio.

    python bench/ner_recipe.py [--params params-ner.yaml] [--prepared DIR] [--epochs N] [--train-samples N]
                               [--test-samples N] [--no-crf]

Data: `--prepared` (the NER profile's data/prepared after `dvc repro prepare`), else the prepare
stage's own code on the params file's `data` section (default: builtin:ner-tweets) into a temp folder.
Both recipes train on the same train sentences (a seeded sample of `--train-samples`), with the
same base model, epochs, learning rate and batch size, and are scored by one function on the same
test sentences: each word's tag from its first sub-token (words cut by max_length: "O"), entity
F1 by sftops.evaluation.entity_metrics (seqeval, strict IOB2).

- plain: what `transformers/examples/pytorch/token-classification/run_ner.py` does with
  `--pad_to_max_length`: AutoModelForTokenClassification, words tokenized with is_split_into_words,
  the tag on each word's first sub-token (-100 elsewhere), every example padded to model.max_length,
  the default Trainer (fp32, no length grouping, no warmup or weight decay), the last epoch's model.
- sftops: sftops.training.fine_tune with the profile's params (dynamic padding, length grouping,
  warmup, weight decay, validation F1 each epoch, the best epoch's model, early stopping).
- crf: sftops' CRF baseline (sklearn-crfsuite on word features) on the same train sentences.

JSON on stdout; progress on stderr. Wall seconds include tokenization and building the model.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_split(params, prepared: str | None, work: Path):
    """The prepared NER data: `prepared` if given, else prepared here from the params' data section."""
    from sftops.data import load_prepared, prepare_dataset

    if prepared is None:
        t0 = time.perf_counter()
        prepare_dataset(params.data, work / "prepared", task=params.task)
        log(f"prepare: {time.perf_counter() - t0:.1f}s")
        prepared = str(work / "prepared")
    data = load_prepared(prepared)
    if data.task != "token_classification":
        sys.exit(f"{prepared}: prepared for {data.task}, not token_classification; prepare with params-ner.yaml")
    return data


def sample(frame: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """A seeded sample of at most `n` sentences (all of them when `n` is None)."""
    if n is None or n >= len(frame):
        return frame.reset_index(drop=True)
    return frame.sample(n=n, random_state=seed).reset_index(drop=True)


def first_subtoken_labels(word_ids: list[int | None], tag_ids: list[int]) -> list[int]:
    """run_ner's alignment: a word's tag id on its first sub-token, -100 (ignored by the loss) elsewhere."""
    labels, previous = [], None
    for word in word_ids:
        labels.append(-100 if word is None or word == previous else int(tag_ids[word]))
        previous = word
    return labels


def plain_recipe(base_dir: Path, label_map, train: pd.DataFrame, *, max_length: int, learning_rate: float,
                 batch_size: int, epochs: float, seed: int):
    """(model, tokenizer) trained the way run_ner.py does with --pad_to_max_length and default TrainingArguments."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer, Trainer, TrainingArguments, default_data_collator, set_seed

    set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    encoded = tokenizer([list(t) for t in train["tokens"]], is_split_into_words=True, truncation=True,
                        max_length=max_length, padding="max_length")
    rows = [
        {**{key: encoded[key][i] for key in encoded}, "labels": first_subtoken_labels(encoded.word_ids(i), list(tag_ids))}
        for i, tag_ids in enumerate(train["tag_ids"])
    ]
    model = AutoModelForTokenClassification.from_pretrained(
        base_dir, num_labels=len(label_map), id2label=label_map.id2label, label2id=label_map.label2id
    )
    with tempfile.TemporaryDirectory(prefix="plain-ner-") as out:
        args = TrainingArguments(output_dir=out, learning_rate=learning_rate, per_device_train_batch_size=batch_size,
                                 num_train_epochs=epochs, seed=seed, save_strategy="no", report_to="none",
                                 disable_tqdm=True, logging_strategy="no")
        Trainer(model=model, args=args, train_dataset=rows, data_collator=default_data_collator,
                processing_class=tokenizer).train()
    return model, tokenizer


def scored(model, tokenizer, test: pd.DataFrame, max_length: int) -> dict[str, Any]:
    """Entity metrics of `model` on the test sentences (each word's tag from its first sub-token)."""
    from sftops.evaluation import entity_metrics
    from sftops.modeling import word_tags_of

    predicted = word_tags_of(model, tokenizer, [list(t) for t in test["tokens"]], batch_size=64, max_length=max_length)
    return entity_metrics([list(t) for t in test["tags"]], predicted)


def summary(metrics: dict[str, Any], **extra: Any) -> dict[str, Any]:
    keys = ("entity_f1", "entity_precision", "entity_recall", "token_accuracy")
    return {**{k: round(float(metrics[k]), 4) for k in keys}, **extra}


def main() -> None:
    with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its metrics: stdout carries the JSON only
        report = run()
    print(json.dumps(report, indent=2))


def run() -> dict[str, Any]:
    """Parse the flags, train both recipes on one split (and fit the CRF), and return the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params-ner.yaml")
    parser.add_argument("--prepared", default=None, help="a prepared NER folder (default: prepare into a temp folder)")
    parser.add_argument("--epochs", type=float, default=None, help="default: train.epochs from params")
    parser.add_argument("--train-samples", type=int, default=None, help="train sentences used (default: all)")
    parser.add_argument("--test-samples", type=int, default=None, help="test sentences scored (default: all)")
    parser.add_argument("--no-crf", action="store_true", help="skip the CRF baseline")
    args = parser.parse_args()

    import torch

    from sftops.config import load_params
    from sftops.modeling import resolve_base_dir
    from sftops.training import apply_overrides, fine_tune

    params = load_params(args.params)
    if args.epochs is not None:
        params = apply_overrides(params, {"train.epochs": args.epochs}, source="--epochs")
    cfg = params.train
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    work = Path(tempfile.mkdtemp(prefix="ner-recipe-"))
    data = load_split(params, args.prepared, work)
    train = sample(data.train, args.train_samples, cfg.seed)
    test = sample(data.test, args.test_samples, cfg.seed)
    max_length = params.model.max_length
    base_dir = resolve_base_dir(params.model)
    log(f"{len(train)} train / {len(data.validation)} validation / {len(test)} test sentences; "
        f"{len(data.label_map)} tags; {cfg.epochs} epochs, lr {cfg.learning_rate:g}, batch {cfg.batch_size}, "
        f"max_length {max_length}; {threads} threads")

    report: dict[str, Any] = {
        "data": {"source": str(params.data.source), "train": len(train), "validation": len(data.validation),
                 "test": len(test), "tags": len(data.label_map)},
        "setup": {"base": params.model.base, "max_length": max_length, "epochs": cfg.epochs,
                  "learning_rate": cfg.learning_rate, "batch_size": cfg.batch_size, "threads": threads},
    }

    t0 = time.perf_counter()
    model, tokenizer = plain_recipe(base_dir, data.label_map, train, max_length=max_length,
                                    learning_rate=cfg.learning_rate, batch_size=cfg.batch_size,
                                    epochs=cfg.epochs, seed=cfg.seed)
    plain_wall = time.perf_counter() - t0
    report["plain"] = summary(scored(model, tokenizer, test, max_length), wall_s=round(plain_wall, 1))
    log(f"plain: {report['plain']}")

    t0 = time.perf_counter()
    result = fine_tune(params, data.label_map, train, data.validation)
    sftops_wall = time.perf_counter() - t0
    report["sftops"] = summary(scored(result.model, result.tokenizer, test, max_length),
                               wall_s=round(sftops_wall, 1), epochs_run=round(result.epochs_run, 2),
                               best_step=result.best_step, stopped_early=result.stopped_early)
    log(f"sftops: {report['sftops']}")

    if not args.no_crf:
        from sftops.evaluation import crf_tags, entity_metrics

        t0 = time.perf_counter()
        tags = crf_tags([list(t) for t in train["tokens"]], [list(t) for t in train["tags"]],
                        [list(t) for t in test["tokens"]])
        report["crf"] = summary(entity_metrics([list(t) for t in test["tags"]], tags),
                                wall_s=round(time.perf_counter() - t0, 1))
        log(f"crf: {report['crf']}")

    report["ratio"] = {
        "wall_plain_over_sftops": round(plain_wall / sftops_wall, 2),
        "f1_sftops_minus_plain": round(report["sftops"]["entity_f1"] - report["plain"]["entity_f1"], 4),
    }
    return report


if __name__ == "__main__":
    main()
