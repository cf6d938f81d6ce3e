"""IOB2 tags and spans: conversion, conlleval repair, strict decoding, and the whitespace word split."""

from __future__ import annotations

import pytest

from sftops.tagging import (
    Span,
    Word,
    detect_scheme,
    entity_types,
    parse_tag,
    repair_iob2,
    spans_of,
    split_words,
    tag_names,
    tags_of,
    to_iob2,
    words_in,
)


def test_split_words_keeps_offsets_into_the_original_text() -> None:
    text = "  Héllo\t🙂 wörld  \nNew York "
    words = split_words(text)
    assert [w.text for w in words] == ["Héllo", "🙂", "wörld", "New", "York"]
    assert all(text[w.start : w.end] == w.text for w in words)
    assert split_words(" \t\n") == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("I love Paris, France!", ["I", "love", "Paris", ",", "France", "!"]),
        ("(NYC) \"Big Apple\"", ["(", "NYC", ")", '"', "Big", "Apple", '"']),
        ("the U.S. and e.g., don't", ["the", "U.S.", "and", "e.g.", ",", "don't"]),
        ("wow... :) !!! http://t.co/x", ["wow", "...", ":)", "!!!", "http://t.co/x"]),
        ("@user #tag ¿qué?", ["@user", "#tag", "¿", "qué", "?"]),
    ],
)
def test_sentence_punctuation_is_split_off_word_edges(text: str, words: list[str]) -> None:
    got = split_words(text)
    assert [w.text for w in got] == words
    assert all(text[w.start : w.end] == w.text for w in got)


@pytest.mark.parametrize(
    ("tag", "parsed"),
    [("O", ("O", "")), ("B-PER", ("B", "PER")), ("I-geo-loc", ("I", "geo-loc")), ("S-x", ("S", "x")),
     ("B-", None), ("X-PER", None), ("PER", None), ("b-PER", None), ("B- PER", None)],
)
def test_parse_tag(tag: str, parsed: tuple[str, str] | None) -> None:
    assert parse_tag(tag) == parsed


def test_tag_names_and_types_are_stable() -> None:
    assert tag_names(["PER", "LOC", "PER"]) == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert entity_types(["I-PER", "O", "B-LOC", "junk"]) == ["LOC", "PER"]


def test_bioes_and_iob1_become_iob2() -> None:
    assert detect_scheme([["O", "S-PER"]]) == "bioes"
    assert detect_scheme([["I-PER", "O"]]) == "iob2"
    assert to_iob2(["B-PER", "I-PER", "E-PER", "O", "S-LOC"], "bioes") == (["B-PER", "I-PER", "I-PER", "O", "B-LOC"], 2)
    # IOB1: entities start with I-, B- only separates two adjacent entities of one type
    assert to_iob2(["I-PER", "I-PER", "B-PER", "O", "I-LOC"], "iob1") == (["B-PER", "I-PER", "B-PER", "O", "B-LOC"], 2)
    assert to_iob2(["B-PER", "I-PER"], "iob2") == (["B-PER", "I-PER"], 0)


def test_repair_turns_a_stray_inside_tag_into_a_beginning() -> None:
    assert repair_iob2(["O", "I-PER", "I-PER", "I-LOC", "B-LOC", "I-LOC"]) == (
        ["O", "B-PER", "I-PER", "B-LOC", "B-LOC", "I-LOC"], 2)


def test_spans_decode_strictly_and_round_trip() -> None:
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "I-PER"]
    spans = spans_of(tags)
    assert spans == [Span("PER", 0, 2), Span("LOC", 3, 4), Span("LOC", 4, 6)]  # the stray I-PER starts nothing
    assert tags_of(len(tags), spans) == [*tags[:-1], "O"]
    assert spans_of(["B-X"]) == [Span("X", 0, 1)]


def test_tags_of_refuses_overlaps_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        tags_of(4, [Span("A", 0, 2), Span("B", 1, 3)])
    with pytest.raises(ValueError, match="outside"):
        tags_of(2, [Span("A", 1, 3)])


def test_words_in_maps_characters_to_words() -> None:
    words = [Word("New", 0, 3), Word("York", 5, 9), Word("is", 10, 12)]
    assert words_in(words, 0, 9) == (0, 2)
    assert words_in(words, 6, 7) == (1, 2)  # part of a word takes the word
    assert words_in(words, 3, 5) is None  # only the spaces between
