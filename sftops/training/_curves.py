"""The Trainer's log history as a training-curve table (one row per logged step)."""

from __future__ import annotations

import csv
from pathlib import Path

from ..atomic import atomic_path
from ..config import Task

# eval_score repeats the task's validation metric under one name, so one dvc plot definition fits both tasks
CURVE_COLUMNS = ("step", "epoch", "loss", "learning_rate", "eval_loss", "eval_macro_f1", "eval_accuracy", "eval_score")
TAGGER_CURVE_COLUMNS = ("step", "epoch", "loss", "learning_rate", "eval_loss", "eval_entity_f1", "eval_token_accuracy",
                        "eval_score")
_SCORE_NAMES = {"eval_macro_f1": "macro-F1", "eval_entity_f1": "entity F1"}


def curve_columns(task: Task) -> tuple[str, ...]:
    """The curve's columns: the validation metric is macro-F1 per text, entity F1 for token classification."""
    return TAGGER_CURVE_COLUMNS if task == "token_classification" else CURVE_COLUMNS


def curve_rows(history: list[dict[str, float]], task: Task = "classification") -> list[dict[str, float | str]]:
    """Merge the train and eval log entries of each step; a value not logged at a step stays empty."""
    columns = curve_columns(task)
    rows: dict[int, dict[str, float | str]] = {}
    for entry in history:
        if "step" not in entry or "train_runtime" in entry:
            continue
        row = rows.setdefault(int(entry["step"]), {c: "" for c in columns})
        row["step"] = int(entry["step"])
        for column in columns[1:]:
            if column in entry:
                row[column] = round(float(entry[column]), 6)
        if columns[5] in entry:
            row["eval_score"] = row[columns[5]]
    return [rows[step] for step in sorted(rows)]


def write_curve(history: list[dict[str, float]], path: str | Path, task: Task = "classification") -> Path:
    """Write `plots/training_curve.csv` atomically."""
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=curve_columns(task))
        writer.writeheader()
        writer.writerows(curve_rows(history, task))
    return Path(path)


def plot_curve(history: list[dict[str, float]], path: str | Path, task: Task = "classification") -> Path:
    """Training loss and the validation metric (macro-F1, or entity F1) against the step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = curve_columns(task)[5]
    label = f"validation {_SCORE_NAMES[metric]}"
    rows = curve_rows(history, task)
    loss = [(r["step"], r["loss"]) for r in rows if r["loss"] != ""]
    f1 = [(r["step"], r[metric]) for r in rows if r[metric] != ""]
    fig, left = plt.subplots(figsize=(8, 4.5))
    if loss:
        left.plot(*zip(*loss), color="tab:blue", label="training loss")
    left.set_xlabel("step")
    left.set_ylabel("training loss", color="tab:blue")
    right = left.twinx()
    if f1:
        right.plot(*zip(*f1), "o-", color="tab:orange", label=label)
    right.set_ylabel(label, color="tab:orange")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
