"""IOB2 tags and entity spans: scheme conversion, conlleval-style repair, decoding, and the word split.

Pure Python (no numpy, torch or pandas), so prepare, training, evaluation, export, the server and
feedback all share one definition of a word, a tag and an entity.

A word is what a CoNLL-style corpus calls a token: text between whitespace, with sentence
punctuation at its edges split off ("Paris," -> "Paris" ","; "(NYC)" -> "(" "NYC" ")"). Inner
punctuation stays ("U.S.", "don't", "e-mail", URLs), and so do words that are all punctuation
("...", ":)"). A server splits a client's raw text this way and so does feedback, so an entity's
span never swallows a comma, and the words match a tokenised corpus's tokens (on builtin:ner-tweets
99.7% of tokens are left whole).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

OUTSIDE = "O"
Scheme = Literal["iob2", "iob1", "bioes"]
_PREFIXES = frozenset("BIESO")
_WORD = re.compile(r"\S+")
_LEADING = frozenset("\"([{“«¿¡")
_TRAILING = frozenset(".,;:!?\")]}”»…")


@dataclass(frozen=True)
class Word:
    """One whitespace-separated word of a text and its character offsets (end exclusive)."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Span:
    """An entity over words `start`..`end` (end exclusive) of one sentence."""

    type: str
    start: int
    end: int


def split_words(text: str) -> list[Word]:
    """The words of `text` with their character offsets into it (see the module docstring for what a word is)."""
    words: list[Word] = []
    for match in _WORD.finditer(text):
        words.extend(_split_edges(match.group(), match.start()))
    return words


def _split_edges(chunk: str, offset: int) -> list[Word]:
    """A whitespace-free chunk as words: leading and trailing sentence punctuation split off its core."""
    start, end = 0, len(chunk)
    while start < end - 1 and chunk[start] in _LEADING:
        start += 1
    while end > start + 1 and chunk[end - 1] in _TRAILING:
        end -= 1
    if end < len(chunk) and chunk[end] == "." and "." in chunk[start:end]:  # an abbreviation keeps its period: U.S.
        end += 1
    if not any(ch.isalnum() for ch in chunk[start:end]):  # "...", ":)", "!!": one word
        return [Word(chunk, offset, offset + len(chunk))]
    parts = ((0, start), (start, end), (end, len(chunk)))
    return [Word(chunk[a:b], offset + a, offset + b) for a, b in parts if b > a]


def parse_tag(tag: str) -> tuple[str, str] | None:
    """(prefix, type) of a tag such as 'B-PER' or 'I-loc'; ('O', '') for 'O'; None when it is no scheme's tag."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    if len(tag) > 2 and tag[1] == "-" and tag[0] in _PREFIXES and tag[0] != OUTSIDE and tag[2:].strip() == tag[2:]:
        return tag[0], tag[2:]
    return None


def tag_names(types: Iterable[str]) -> list[str]:
    """The IOB2 tag set of entity `types`, in a stable order: 'O', then B-/I- of each type sorted by name."""
    return [OUTSIDE, *(f"{prefix}-{t}" for t in sorted(set(types)) for prefix in "BI")]


def entity_types(tags: Iterable[str]) -> list[str]:
    """The sorted entity types named in a tag set (or in any tag sequence)."""
    return sorted({parsed[1] for tag in tags if (parsed := parse_tag(tag)) and parsed[0] != OUTSIDE})


def detect_scheme(sentences: Iterable[Sequence[str]]) -> Scheme:
    """'bioes' when any S- or E- tag occurs, else 'iob2' (IOB1 input becomes IOB2 by `repair_iob2`)."""
    for tags in sentences:
        for tag in tags:
            parsed = parse_tag(tag)
            if parsed and parsed[0] in ("S", "E"):
                return "bioes"
    return "iob2"


def to_iob2(tags: Sequence[str], scheme: Scheme) -> tuple[list[str], int]:
    """`tags` (well-formed tags of `scheme`) rewritten as IOB2, and how many tags changed.

    BIOES: S-X -> B-X, E-X -> I-X. IOB1 (B-X only between two adjacent X entities): an I-X that
    starts an entity -> B-X. IOB2 input is returned as it is (see `repair_iob2` for broken IOB2).
    """
    out = list(tags)
    if scheme == "bioes":
        for i, tag in enumerate(out):
            parsed = parse_tag(tag)
            if parsed and parsed[0] == "S":
                out[i] = f"B-{parsed[1]}"
            elif parsed and parsed[0] == "E":
                out[i] = f"I-{parsed[1]}"
    elif scheme == "iob1":
        out, _ = repair_iob2(out)
    return out, sum(a != b for a, b in zip(tags, out))


def repair_iob2(tags: Sequence[str]) -> tuple[list[str], int]:
    """IOB2 with every I-X that follows no B-X/I-X turned into B-X (the conlleval convention), and the count repaired."""
    out = list(tags)
    repaired = 0
    previous = OUTSIDE
    for i, tag in enumerate(out):
        parsed = parse_tag(tag)
        if parsed and parsed[0] == "I":
            prev = parse_tag(previous)
            if prev is None or prev[0] == OUTSIDE or prev[1] != parsed[1]:
                out[i] = f"B-{parsed[1]}"
                repaired += 1
        previous = out[i]
    return out, repaired


def spans_of(tags: Sequence[str]) -> list[Span]:
    """The entities of an IOB2 tag sequence, strictly: an entity starts at B-X and runs over the I-X that follow.

    An I-X with no B-X before it starts no entity here (decode predictions after `repair_iob2` to count it as one)."""
    spans: list[Span] = []
    current: tuple[str, int] | None = None
    for i, tag in enumerate(tags):
        parsed = parse_tag(tag) or (OUTSIDE, "")
        prefix, kind = parsed
        if current is not None and not (prefix == "I" and kind == current[0]):
            spans.append(Span(current[0], current[1], i))
            current = None
        if prefix == "B":
            current = (kind, i)
    if current is not None:
        spans.append(Span(current[0], current[1], len(tags)))
    return spans


def tags_of(n_words: int, spans: Iterable[Span]) -> list[str]:
    """The IOB2 tags of `n_words` words holding `spans` (which must not overlap)."""
    tags = [OUTSIDE] * n_words
    for span in sorted(spans, key=lambda s: s.start):
        if not 0 <= span.start < span.end <= n_words:
            raise ValueError(f"span {span} is outside the {n_words} words")
        if any(tags[i] != OUTSIDE for i in range(span.start, span.end)):
            raise ValueError(f"span {span} overlaps another entity")
        tags[span.start] = f"B-{span.type}"
        for i in range(span.start + 1, span.end):
            tags[i] = f"I-{span.type}"
    return tags


def words_in(words: Sequence[Word], start: int, end: int) -> tuple[int, int] | None:
    """The word range (start, end exclusive) that character span `start`..`end` covers; a word it touches counts.

    None when the characters hold no word (only whitespace)."""
    hit = [i for i, w in enumerate(words) if w.start < end and start < w.end]
    return (hit[0], hit[-1] + 1) if hit else None
