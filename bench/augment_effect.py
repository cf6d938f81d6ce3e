"""Benchmark: does data.augment help macro-F1 on a small training set? With and without, side by side in one run.

The builtin tweets are prepared twice by the real prepare step (sftops.data.prepare_dataset) with the same split and
caps (480 training rows by default), once plain and once with data.augment on; validation and test are the same
rows in both. MiniLM is fine-tuned on each for the same epochs and seeds (best validation checkpoint kept, as the
train stage does) and scored on the test split; a third run trains the plain rows for as many steps as the augmented
one, so that more training is not mistaken for augmentation. Prints test macro-F1 per run, the mean differences to
plain and their spread.

    python bench/augment_effect.py [--train 480] [--seeds 1 2] [--epochs 3] [--copies 1] [--augmenters keyboard word_swap]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sklearn.metrics import f1_score

from sftops.config import load_params
from sftops.data import load_prepared, prepare_dataset
from sftops.modeling import logits_of
from sftops.training import apply_overrides, fine_tune


def _prepared(params, out: Path, caps: dict[str, int], augment: dict | None):
    data = params.data.model_copy(update={"max_samples": params.data.max_samples.model_copy(update=caps)})
    if augment:
        data = data.model_copy(update={"augment": data.augment.model_copy(update={"enabled": True, **augment})})
    meta = prepare_dataset(data, out)
    return load_prepared(out), meta


def _test_f1(params, prepared) -> tuple[float, float, float]:
    start = time.perf_counter()
    result = fine_tune(params, prepared.label_map, prepared.train, prepared.validation, show_progress=False)
    scores = logits_of(result.model, result.tokenizer, prepared.test["text"].tolist(), batch_size=128,
                       max_length=params.model.max_length).argmax(axis=-1)
    f1 = float(f1_score(prepared.test["label"].to_numpy(), scores, average="macro", zero_division=0))
    return f1, float(result.best_metric or 0.0), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--train", type=int, default=480)
    parser.add_argument("--validation", type=int, default=300)
    parser.add_argument("--test", type=int, default=1500)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--probability", type=float, default=0.1)
    parser.add_argument("--augmenters", nargs="+", default=["keyboard", "word_swap"])
    parser.add_argument("--runs", nargs="+", default=["plain", "augmented", "plain_same_steps"],
                        choices=["plain", "augmented", "plain_same_steps"],
                        help="plain_same_steps: the plain rows for as many optimizer steps as the augmented run "
                             "(epochs x augmented/plain rows), to tell augmentation from more training")
    args = parser.parse_args()

    caps = {"train": args.train, "validation": args.validation, "test": args.test}
    base = load_params(args.params)
    augment = {"augmenters": args.augmenters, "copies": args.copies, "probability": args.probability}
    with tempfile.TemporaryDirectory() as tmp:
        plain, _ = _prepared(base, Path(tmp) / "plain", caps, None)
        augmented, meta = _prepared(base, Path(tmp) / "augmented", caps, augment)
    assert plain.test.equals(augmented.test) and plain.validation.equals(augmented.validation)
    print(f"train rows: {len(plain.train)} plain, {len(augmented.train)} augmented "
          f"({meta['augment']['rows_added']} copies: {augment}); validation {len(plain.validation)}, "
          f"test {len(plain.test)}", flush=True)

    deltas: dict[str, list[float]] = {"augmented": [], "plain_same_steps": []}
    same_steps = args.epochs * len(augmented.train) / len(plain.train)
    for seed in args.seeds:
        scores = {}
        for name in args.runs:
            epochs = same_steps if name == "plain_same_steps" else args.epochs
            params = apply_overrides(base, {"train.seed": seed, "train.epochs": epochs,
                                            "train.learning_rate": args.lr, "model.strategy": "full"})
            prepared = augmented if name == "augmented" else plain
            scores[name] = _test_f1(params, prepared)
            f1, val, seconds = scores[name]
            print(f"seed {seed} {name:>16} ({epochs:.2g} epochs): test macro-F1 {f1:.4f}, best validation macro-F1 "
                  f"{val:.4f}, {seconds:.0f} s", flush=True)
        for name in deltas:
            if name in scores and "plain" in scores:
                deltas[name].append(scores[name][0] - scores["plain"][0])
    for name, values in deltas.items():
        if values:
            spread = statistics.stdev(values) if len(values) > 1 else float("nan")
            print(f"mean delta ({name} - plain) test macro-F1: {statistics.mean(values):+.4f} (sd {spread:.4f}, "
                  f"{len(values)} seeds)")


if __name__ == "__main__":
    main()
