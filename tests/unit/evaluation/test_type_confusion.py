"""sftops.evaluation._type_confusion: entities matched by exact span; missed, spurious, type swaps, boundary errors."""

from __future__ import annotations

from collections import Counter

import pytest

from sftops.evaluation import MISSED, SPURIOUS, entity_confusion_matrix, entity_confusion_rows


def _pairs(gold: list[list[str]], pred: list[list[str]]) -> Counter[tuple[str, str]]:
    return Counter((r["actual"], r["predicted"]) for r in entity_confusion_rows(gold, pred))


def test_a_correct_entity_is_on_the_diagonal() -> None:
    assert _pairs([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]]) == {("PER", "PER"): 1}


def test_a_gold_entity_with_no_prediction_is_missed() -> None:
    assert _pairs([["O", "B-LOC"]], [["O", "O"]]) == {("LOC", MISSED): 1}


def test_a_prediction_on_no_gold_entity_is_spurious() -> None:
    assert _pairs([["O", "O"]], [["B-ORG", "O"]]) == {(SPURIOUS, "ORG"): 1}


def test_the_same_span_with_another_type_is_a_type_confusion() -> None:
    assert _pairs([["B-ORG", "I-ORG"]], [["B-LOC", "I-LOC"]]) == {("ORG", "LOC"): 1}


def test_a_boundary_error_is_one_missed_and_one_spurious() -> None:
    assert _pairs([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]]) == {("PER", MISSED): 1, (SPURIOUS, "PER"): 1}


def test_a_stray_inside_tag_is_read_as_an_entity_start() -> None:
    assert _pairs([["O", "B-PER"]], [["O", "I-PER"]]) == {("PER", "PER"): 1}


def test_sentences_are_matched_one_by_one() -> None:
    gold = [["B-PER", "O"], ["O", "B-PER"]]
    pred = [["O", "B-PER"], ["O", "B-PER"]]  # first sentence: same type at another position
    assert _pairs(gold, pred) == {("PER", MISSED): 1, (SPURIOUS, "PER"): 1, ("PER", "PER"): 1}


def test_the_matrix_has_spurious_as_its_last_row_and_missed_as_its_last_column() -> None:
    gold = [["B-LOC", "O", "B-PER", "O"], ["B-PER", "I-PER", "O", "O"]]
    pred = [["B-PER", "O", "B-PER", "B-LOC"], ["B-PER", "O", "O", "B-MISC"]]
    actual, predicted, matrix = entity_confusion_matrix(entity_confusion_rows(gold, pred), ["LOC", "PER"])
    assert actual == ["LOC", "PER", "MISC", SPURIOUS]  # a type only predicted still gets its row and column
    assert predicted == ["LOC", "PER", "MISC", MISSED]
    assert matrix == [
        [0, 1, 0, 0],  # LOC read as PER
        [0, 1, 0, 1],  # one PER right, one cut short (missed ...
        [0, 0, 0, 0],
        [1, 1, 1, 0],  # ... and spurious), plus an invented LOC and MISC
    ]


def test_sentence_counts_must_agree() -> None:
    with pytest.raises(ValueError, match="1 gold sentences but 2"):
        entity_confusion_rows([["O"]], [["O"], ["O"]])
