"""Evaluation figures and reports for people: confusion matrices, per-type F1 bars, and text reports."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..data.labels import LabelMap


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(matrix: list[list[int]], label_map: LabelMap, path: Path, title: str) -> Path:
    """A labelled confusion-matrix heatmap (rows actual, columns predicted)."""
    import numpy as np
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(label_map), 1.2 + 1.2 * len(label_map)))
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=list(label_map.names)).plot(ax=ax, colorbar=False)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def report_text(results: Mapping[str, Mapping[str, Any]]) -> str:
    """Per-model accuracy, macro-F1 and per-class precision/recall/F1, as a fixed-width table."""
    lines = []
    for model, metrics in results.items():
        lines.append(f"== {model}: accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}")
        lines.append(f"{'label':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
        for name, row in metrics["per_class"].items():
            lines.append(f"{name:<20}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}{row['support']:>10d}")
        lines.append("")
    return "\n".join(lines)


def plot_entity_confusion(actual: list[str], predicted: list[str], matrix: list[list[int]], path: Path,
                          title: str) -> Path:
    """A heatmap of entity counts: rows gold type or (spurious), columns predicted type or (missed)."""
    import numpy as np

    plt = _pyplot()
    counts = np.asarray(matrix, dtype=int).reshape(len(actual), len(predicted))
    fig, ax = plt.subplots(figsize=(2.0 + 0.9 * len(predicted), 1.6 + 0.6 * len(actual)))
    ax.imshow(counts, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(predicted)), predicted, rotation=45, ha="right")
    ax.set_yticks(range(len(actual)), actual)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    threshold = counts.max() / 2 if counts.size else 0
    for (i, j), n in np.ndenumerate(counts):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", color="white" if n > threshold else "black", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_type_f1(results: Mapping[str, Mapping[str, Any]], types: list[str], path: Path, title: str) -> Path:
    """Grouped bars: each entity type's F1 for every model in `results` (a type a model never scored is 0)."""
    import numpy as np

    plt = _pyplot()
    x = np.arange(len(types))
    width = 0.8 / max(len(results), 1)
    fig, ax = plt.subplots(figsize=(2.0 + 0.8 * len(types) * max(len(results), 1) / 2, 4.0))
    for k, (model, metrics) in enumerate(results.items()):
        f1 = [metrics["per_type"].get(t, {}).get("f1", 0.0) for t in types]
        ax.bar(x + (k - (len(results) - 1) / 2) * width, f1, width, label=f"{model} ({metrics['entity_f1']:.3f})")
    ax.set_xticks(x, types, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1 (test)")
    ax.legend(title="model (micro F1)", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def entity_report_text(results: Mapping[str, Mapping[str, Any]]) -> str:
    """Per-model entity precision/recall/F1 and token accuracy, then per-type scores, as a fixed-width table."""
    lines = []
    for model, metrics in results.items():
        lines.append(f"== {model}: entity P {metrics['entity_precision']:.4f}  R {metrics['entity_recall']:.4f}  "
                     f"F1 {metrics['entity_f1']:.4f}  token accuracy {metrics['token_accuracy']:.4f}")
        lines.append(f"{'type':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
        for name, row in metrics["per_type"].items():
            lines.append(f"{name:<20}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}{row['support']:>10d}")
        lines.append("")
    return "\n".join(lines)
