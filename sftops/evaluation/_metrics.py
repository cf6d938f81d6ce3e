"""Classification metrics with label names: accuracy, macro-F1, per-class P/R/F1, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..data.labels import LabelMap


def classification_metrics(y_true: ArrayLike, y_pred: ArrayLike, label_map: LabelMap) -> dict[str, Any]:
    """{accuracy, macro_f1, per_class: {name: {precision, recall, f1, support}}, confusion_matrix (rows = actual)}."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    true, pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    ids = list(range(len(label_map)))
    precision, recall, f1, support = precision_recall_fscore_support(
        true, pred, labels=ids, zero_division=0
    )
    per_class = {
        name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
        for i, name in enumerate(label_map.names)
    }
    return {
        "accuracy": float(accuracy_score(true, pred)) if len(true) else 0.0,
        "macro_f1": float(f1_score(true, pred, labels=ids, average="macro", zero_division=0)),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(true, pred, labels=ids).tolist(),
    }


def confusion_rows(y_true: Sequence[int], y_pred: Sequence[int], label_map: LabelMap) -> list[dict[str, str]]:
    """One {actual, predicted} row per example, with label names (what `dvc plots` confusion templates read)."""
    names = label_map.names
    return [{"actual": names[int(t)], "predicted": names[int(p)]} for t, p in zip(y_true, y_pred)]
