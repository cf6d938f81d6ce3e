"""sftops.evaluation._crf: the CRF baseline's word features, and that it learns a pattern from context."""

from __future__ import annotations

import random

from sftops.evaluation import crf_tags, entity_metrics, word_features
from sftops.evaluation._crf import word_shape

_PLACES = ["Paris", "London", "Berlin", "Rome", "Oslo", "Madrid", "Vienna", "Prague", "Lisbon", "Dublin",
           "Athens", "Warsaw", "Zurich", "Munich", "Geneva", "Porto"]
_STARTS = ["Today", "Yesterday", "Maybe", "Sadly", "Luckily"]
_VERBS = ["we", "they", "friends", "people"]


def _sentences(places: list[str], n: int, seed: int) -> tuple[list[list[str]], list[list[str]]]:
    """'<Capitalised opener> we stayed in <Place> again': only the capitalised word after 'in' is a LOC."""
    rng = random.Random(seed)
    words, tags = [], []
    for _ in range(n):
        sentence = [rng.choice(_STARTS), rng.choice(_VERBS), "stayed", "in", rng.choice(places), "again"]
        words.append(sentence)
        tags.append(["O", "O", "O", "O", "B-LOC", "O"])
    return words, tags


def test_features_hold_the_word_its_affixes_its_shape_and_its_neighbours() -> None:
    first = word_features(["McDonald", "in", "2016"], 0)
    assert first["lower"] == "mcdonald" and first["prefix3"] == "McD" and first["suffix3"] == "ald"
    assert first["shape"] == "XxXx" and first["istitle"] is False and first["BOS"] is True
    assert first["+1:lower"] == "in" and "-1:lower" not in first
    last = word_features(["McDonald", "in", "2016"], 2)
    assert last["isdigit"] is True and last["EOS"] is True and last["-1:lower"] == "in"
    assert word_shape("RT") == "X" and word_shape("2016-01") == "d-d"


def test_the_crf_learns_that_a_capitalised_word_after_in_is_a_place_and_beats_all_o() -> None:
    train_words, train_tags = _sentences(_PLACES[:10], 120, seed=0)
    test_words, test_tags = _sentences(_PLACES[10:], 30, seed=1)  # places it never saw
    predicted = crf_tags(train_words, train_tags, test_words)
    assert [len(p) for p in predicted] == [len(w) for w in test_words]
    assert entity_metrics(test_tags, predicted)["entity_f1"] > 0.9
    assert entity_metrics(test_tags, [["O"] * len(w) for w in test_words])["entity_f1"] == 0.0


def test_no_sentences_to_tag_gives_no_tags() -> None:
    words, tags = _sentences(_PLACES, 10, seed=0)
    assert crf_tags(words, tags, []) == []
