"""Evaluation figures and reports for people: count heatmaps (confusion matrices), per-label F1 bars, reliability
diagrams and text reports. The evaluate stage and the version report (sftops.reporting) both draw with these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..data.labels import LabelMap
from ._calibration import Reliability


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return path


def plot_counts(rows: Sequence[str], columns: Sequence[str], matrix: Sequence[Sequence[int]], path: Path, title: str,
                *, ylabel: str = "actual", xlabel: str = "predicted") -> Path:
    """A heatmap of counts with each non-zero cell written in it (a confusion matrix: rows actual, columns predicted)."""
    import numpy as np

    plt = _pyplot()
    counts = np.asarray(matrix, dtype=int).reshape(len(rows), len(columns))
    fig, ax = plt.subplots(figsize=(2.0 + 0.9 * len(columns), 1.6 + 0.6 * len(rows)))
    ax.imshow(counts, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    threshold = counts.max() / 2 if counts.size else 0
    for (i, j), n in np.ndenumerate(counts):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", color="white" if n > threshold else "black", fontsize=8)
    ax.set_title(title)
    return _save(fig, path)


def plot_confusion(matrix: list[list[int]], label_map: LabelMap, path: Path, title: str) -> Path:
    """A labelled confusion-matrix heatmap (rows actual, columns predicted)."""
    names = list(label_map.names)
    return plot_counts(names, names, matrix, path, title)


def plot_entity_confusion(actual: list[str], predicted: list[str], matrix: list[list[int]], path: Path,
                          title: str) -> Path:
    """A heatmap of entity counts: rows gold type or (spurious), columns predicted type or (missed)."""
    return plot_counts(actual, predicted, matrix, path, title, ylabel="gold")


def plot_label_f1(results: Mapping[str, Mapping[str, Any]], labels: Sequence[str], path: Path, title: str, *,
                  per: str = "per_type", headline: str = "entity_f1") -> Path:
    """Grouped bars: each label's F1 (`results[model][per][label]["f1"]`) for every model, legend showing `headline`.

    A label a model never scored is 0. Classes: per="per_class", headline="macro_f1"."""
    import numpy as np

    plt = _pyplot()
    x = np.arange(len(labels))
    width = 0.8 / max(len(results), 1)
    fig, ax = plt.subplots(figsize=(3.0 + 0.8 * len(labels) * max(len(results), 1) / 2, 4.0))
    for k, (model, metrics) in enumerate(results.items()):
        f1 = [metrics[per].get(t, {}).get("f1", 0.0) for t in labels]
        ax.bar(x + (k - (len(results) - 1) / 2) * width, f1, width, label=f"{model} ({metrics[headline]:.3f})")
    ax.set_xticks(x, labels, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1 (test)")
    ax.legend(title=f"model ({headline.replace('_', ' ')})", fontsize=8)
    ax.set_title(title)
    return _save(fig, path)


def plot_reliability(table: Reliability, path: Path, title: str) -> Path:
    """A reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration, with counts."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    used = [b for b in table.bins if b.count]
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.bar([b.low for b in used], [b.accuracy for b in used], width=[b.high - b.low for b in used], align="edge",
           edgecolor="black", alpha=0.7, label="accuracy in bin")
    ax.plot([b.confidence for b in used], [b.accuracy for b in used], "o", color="darkred", label="mean confidence")
    for b in used:
        ax.text(b.low + (b.high - b.low) / 2, min(b.accuracy + 0.02, 0.97), str(b.count), ha="center", fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(f"{title} (ECE {table.ece:.3f})")
    return _save(fig, path)


def _scores_table(results: Mapping[str, Mapping[str, Any]], per: str, first: str, header: str) -> str:
    lines = []
    for model, metrics in results.items():
        lines.append(header.format(model=model, **metrics))
        lines.append(f"{first:<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
        for name, row in metrics[per].items():
            lines.append(f"{name:<20}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}{row['support']:>10d}")
        lines.append("")
    return "\n".join(lines)


def report_text(results: Mapping[str, Mapping[str, Any]]) -> str:
    """Per-model accuracy, macro-F1 and per-class precision/recall/F1, as a fixed-width table."""
    return _scores_table(results, "per_class", "label",
                         "== {model}: accuracy {accuracy:.4f}  macro-F1 {macro_f1:.4f}")


def entity_report_text(results: Mapping[str, Mapping[str, Any]]) -> str:
    """Per-model entity precision/recall/F1 and token accuracy, then per-type scores, as a fixed-width table."""
    return _scores_table(results, "per_type", "type",
                         "== {model}: entity P {entity_precision:.4f}  R {entity_recall:.4f}  "
                         "F1 {entity_f1:.4f}  token accuracy {token_accuracy:.4f}")
