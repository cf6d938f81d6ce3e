"""Evaluation figures and reports for people: confusion-matrix PNG and a text classification report."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..data.labels import LabelMap


def plot_confusion(matrix: list[list[int]], label_map: LabelMap, path: Path, title: str) -> Path:
    """A labelled confusion-matrix heatmap (rows actual, columns predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import ConfusionMatrixDisplay

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
