"""Per-example test predictions (predictions.jsonl in the evaluate run's `evaluation/` artifacts).

The version report reads them for calibration and the most confident mistakes, so nothing is re-scored.
A classifier's row: text, label, predicted, confidence (the predicted class's probability), probs (every class).
A tagger's row: tokens, tags (gold IOB2), predicted (IOB2 tags).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path
from ..data.labels import LabelMap

PREDICTIONS_FILE = "predictions.jsonl"


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) logits, stable for large values."""
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits, axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def classifier_prediction_rows(texts: Sequence[str], y_true: Sequence[int], probs: np.ndarray,
                               label_map: LabelMap) -> list[dict[str, Any]]:
    """One row per test text: its gold and predicted label names, the prediction's confidence and every class's probability."""
    names = label_map.names
    rows = []
    for text, true, p in zip(texts, y_true, probs):
        best = int(np.argmax(p))
        rows.append({"text": text, "label": names[int(true)], "predicted": names[best],
                     "confidence": round(float(p[best]), 6), "probs": [round(float(x), 6) for x in p]})
    return rows


def tagger_prediction_rows(sentences: Sequence[Sequence[str]], gold: Sequence[Sequence[str]],
                           predicted: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    """One row per test sentence: its words, gold tags and predicted tags."""
    return [{"tokens": list(words), "tags": list(g), "predicted": list(p)}
            for words, g, p in zip(sentences, gold, predicted)]


def write_predictions(rows: Iterable[Mapping[str, Any]], path: Path) -> Path:
    """Write rows as JSON Lines, atomically."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """The rows of a predictions.jsonl file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
