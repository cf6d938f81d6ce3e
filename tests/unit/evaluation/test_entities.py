"""Entity-level metrics: exact span and type, per type with support, token accuracy, predictions repaired first."""

from __future__ import annotations

import pytest

from sftops.evaluation import entity_metrics


def test_exact_span_and_type_count() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["O", "B-LOC"]]  # PER boundary wrong, ORG typed LOC
    m = entity_metrics(gold, pred)
    assert m["entity_precision"] == pytest.approx(1 / 3)
    assert m["entity_recall"] == pytest.approx(1 / 3)
    assert m["entity_f1"] == pytest.approx(1 / 3)
    assert m["token_accuracy"] == pytest.approx(4 / 6)
    assert m["per_type"]["LOC"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert m["per_type"]["ORG"]["support"] == 1 and m["per_type"]["ORG"]["f1"] == 0.0


def test_a_stray_inside_tag_in_a_prediction_counts_as_an_entity() -> None:
    assert entity_metrics([["O", "B-PER", "I-PER"]], [["O", "I-PER", "I-PER"]])["entity_f1"] == 1.0


def test_no_entities_anywhere_scores_zero_without_failing() -> None:
    m = entity_metrics([["O", "O"]], [["O", "O"]])
    assert m["entity_f1"] == 0.0 and m["token_accuracy"] == 1.0 and m["per_type"] == {}


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="sentence 0"):
        entity_metrics([["O"]], [["O", "O"]])
