"""Turn raw bytes into clean text: decode line by line, repair mojibake, flag what can't be repaired."""

from __future__ import annotations

import re
from dataclasses import dataclass

import ftfy
from ftfy.badness import is_bad

from ..exceptions import DataError

# The builtin tweet corpus was UTF-8 read as one 8-bit code page and written as another,
# with some bytes lost to "_". ftfy cannot undo that, but the damaged sequences are few
# and regular: these are the punctuation marks they stood for (read via Mac Roman).
TWEETS_MOJIBAKE = {
    "’¢_äŒÎù": "”", "’¢_äŒÅ–": "“", "’¢_äŒ_Ü¢": "’", "’¢_äŒÎ_": "…", "’¢_äŒ_—ù": "—",
    "’¢_äŒ_—“": "–", "‰Û_": "…", "‰ÛÏ": "“", "‰Ûù": "”", "‰Ûª": "’", "‰Û÷": "‘", "‰ÛÒ": "—",
    "‰ÛÓ": "–", "äóù": "”", "äóì": "“", "äó»": "’", "äóÖ": "‘", "åÊ": " ", "åÈ": "…", "’äÎ_": " ",
}
_TWEETS_PATTERN = re.compile("|".join(re.escape(k) for k in sorted(TWEETS_MOJIBAKE, key=len, reverse=True)))
# What is left of emoji after the same damage: unrecoverable, so removed rather than kept as noise.
_EMOJI_RESIDUE = re.compile(r"_?(?:[ÙôÌ][^\x00-\x7f\s]{0,3}_?)+")


@dataclass(frozen=True)
class Decoded:
    """Decoded text and how many lines needed the fallback encoding."""

    text: str
    fallback_lines: int


def decode_bytes(
    raw: bytes, encoding: str | None = None, fallback: str = "cp1252", source: str = "file", *, allow_nul: bool = False
) -> Decoded:
    """Decode `raw` with `encoding`, or as UTF-8 with a per-line `fallback` for lines that are not UTF-8.

    Mixed files (mostly UTF-8, some lines saved by a legacy editor) are common; a file that is
    mostly not UTF-8 (UTF-16, binary) is refused so the user sets `data.encoding`. `allow_nul`
    keeps NUL bytes (untrusted extra sources: the rows holding them are dropped later, not the file).
    """
    if not raw.strip():
        raise DataError(f"{source}: the file is empty; point data.source at a file with a header and rows")
    if encoding is not None:
        try:
            return Decoded(raw.decode(encoding), 0)
        except (UnicodeDecodeError, LookupError) as exc:
            raise DataError(f"{source}: cannot decode as data.encoding={encoding!r} ({exc}); set the file's real encoding") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (not allow_nul and b"\x00" in raw[:4096]):
        raise DataError(f"{source}: looks like UTF-16 or binary, not UTF-8 text; set data.encoding (e.g. utf-16) or convert the file")
    lines = raw.split(b"\n")
    out, fallback_lines = [], 0
    for line in lines:
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(line.decode(fallback, errors="replace"))
            fallback_lines += 1
    if fallback_lines > 0.5 * len(lines):
        raise DataError(
            f"{source}: {fallback_lines} of {len(lines)} lines are not UTF-8; set data.encoding to the file's encoding"
        )
    return Decoded("\n".join(out), fallback_lines)


def repair_text(text: str, *, tweets_mojibake: bool = False) -> tuple[str, bool]:
    """Repair encoding damage in one text; return (text, ok) where ok=False means damage remains."""
    if tweets_mojibake:
        text = _TWEETS_PATTERN.sub(lambda m: TWEETS_MOJIBAKE[m.group()], text)
        text = _EMOJI_RESIDUE.sub(" ", text)
    fixed = ftfy.fix_text(text, normalization="NFC")
    return fixed, not is_bad(fixed)
