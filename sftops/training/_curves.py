"""The Trainer's log history as a training-curve table (one row per logged step)."""

from __future__ import annotations

import csv
from pathlib import Path

from ..atomic import atomic_path

CURVE_COLUMNS = ("step", "epoch", "loss", "learning_rate", "eval_loss", "eval_macro_f1", "eval_accuracy")


def curve_rows(history: list[dict[str, float]]) -> list[dict[str, float | str]]:
    """Merge the train and eval log entries of each step; a value not logged at a step stays empty."""
    rows: dict[int, dict[str, float | str]] = {}
    for entry in history:
        if "step" not in entry or "train_runtime" in entry:
            continue
        row = rows.setdefault(int(entry["step"]), {c: "" for c in CURVE_COLUMNS})
        row["step"] = int(entry["step"])
        for column in CURVE_COLUMNS[1:]:
            if column in entry:
                row[column] = round(float(entry[column]), 6)
    return [rows[step] for step in sorted(rows)]


def write_curve(history: list[dict[str, float]], path: str | Path) -> Path:
    """Write `plots/training_curve.csv` atomically."""
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CURVE_COLUMNS)
        writer.writeheader()
        writer.writerows(curve_rows(history))
    return Path(path)


def plot_curve(history: list[dict[str, float]], path: str | Path) -> Path:
    """Training loss and validation macro-F1 against the step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = curve_rows(history)
    loss = [(r["step"], r["loss"]) for r in rows if r["loss"] != ""]
    f1 = [(r["step"], r["eval_macro_f1"]) for r in rows if r["eval_macro_f1"] != ""]
    fig, left = plt.subplots(figsize=(8, 4.5))
    if loss:
        left.plot(*zip(*loss), color="tab:blue", label="training loss")
    left.set_xlabel("step")
    left.set_ylabel("training loss", color="tab:blue")
    right = left.twinx()
    if f1:
        right.plot(*zip(*f1), "o-", color="tab:orange", label="validation macro-F1")
    right.set_ylabel("validation macro-F1", color="tab:orange")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
