"""Per-example predictions: probabilities from logits, one row per text or sentence, a JSON Lines round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sftops.data.labels import LabelMap
from sftops.evaluation import (
    classifier_prediction_rows,
    read_predictions,
    softmax,
    tagger_prediction_rows,
    write_predictions,
)


def test_rows_carry_names_confidence_and_survive_a_round_trip(tmp_path: Path) -> None:
    probs = softmax(np.array([[0.0, 0.0, np.log(2.0)], [1000.0, 0.0, 0.0]]))
    assert probs[0] == pytest.approx([0.25, 0.25, 0.5]) and probs[1] == pytest.approx([1.0, 0.0, 0.0])
    rows = classifier_prediction_rows(["a «b»", "c"], [0, 0], probs, LabelMap(("neg", "neu", "pos")))
    assert rows[0] == {"text": "a «b»", "label": "neg", "predicted": "pos", "confidence": 0.5, "probs": [0.25, 0.25, 0.5]}
    assert rows[1]["predicted"] == "neg" and rows[1]["confidence"] == 1.0
    tagged = tagger_prediction_rows([["Ann", "ran"]], [["B-PER", "O"]], [["O", "O"]])
    assert tagged == [{"tokens": ["Ann", "ran"], "tags": ["B-PER", "O"], "predicted": ["O", "O"]}]
    path = write_predictions(rows + tagged, tmp_path / "p.jsonl")
    assert read_predictions(path) == rows + tagged
