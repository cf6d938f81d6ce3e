"""Stable identities for examples: a normalised text, its hash key, and its split bucket.

One place decides "is this the same example", so the split (which split a text lands in),
the dedup of feedback against source rows, and the promotion gate's overlap check
(test texts a model trained on) all agree.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalized(text: str) -> str:
    """The text as compared for identity: Unicode NFKC, case-folded, whitespace collapsed and trimmed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def text_key(text: str) -> str:
    """A 16-hex-digit key of the normalised text (equal texts, up to case and spacing, share a key)."""
    return hashlib.sha256(normalized(text).encode("utf-8")).hexdigest()[:16]


def split_bucket(text: str, salt: str) -> float:
    """A number in [0, 1) that depends only on the normalised text and the salt: the example's place in the split."""
    digest = hashlib.sha256(f"{salt}\x00{normalized(text)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
