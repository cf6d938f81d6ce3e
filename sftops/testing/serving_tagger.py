"""The token-classification bundle the serving tests serve: sftops.testing.onnx_fakes' lookup tagger with known pieces.

A few MiniLM word pieces are entities (paris, london, new york: LOC; ada + lovelace: PER), every
other token is O, so expected tags, spans and scores follow from the tokenizer alone. `##lace` is
a confident I-PER while `love` leans O, so "Ada Lovelace" is one PER entity with serve.aggregation
`average` or `max` and only "Ada" with `first`: the aggregation a server was given shows in its answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sftops.tagging import tag_names

from .onnx_fakes import default_token_logits, make_tagger_bundle

ENTITY_TYPES = ("LOC", "PER")
TAGS = tuple(tag_names(ENTITY_TYPES))  # O, B-LOC, I-LOC, B-PER, I-PER (onnx_fakes.TAGS)
_PIECE_TAGS: dict[str, dict[str, float]] = {  # MiniLM word piece -> its logits (tags not named: 0)
    "paris": {"B-LOC": 5.0},
    "london": {"B-LOC": 4.0, "O": 2.0},
    "new": {"B-LOC": 3.0, "O": 1.0},
    "york": {"I-LOC": 5.0},
    "ada": {"B-PER": 5.0},
    "love": {"O": 2.0, "I-PER": 1.5},
    "##lace": {"I-PER": 5.0},
}
PIECES: dict[str, Sequence[float]] = {piece: [row.get(tag, 0.0) for tag in TAGS] for piece, row in _PIECE_TAGS.items()}


def tag_probability(piece: str, tag: str) -> float:
    """The probability the tagger gives `tag` on the token `piece`: what a word of that one piece scores."""
    row = np.asarray(PIECES[piece], dtype=np.float64) if piece in PIECES else default_token_logits(len(TAGS)).astype(np.float64)
    probs = np.exp(row - row.max())
    return float(probs[TAGS.index(tag)] / probs.sum())


def make_serving_tagger(folder: str | Path, *, max_length: int = 32) -> Path:
    """The serving bundle (no drift reference) of the tagger with PIECES."""
    return make_tagger_bundle(folder, PIECES, labels=TAGS, max_length=max_length)
