"""Read CoNLL-style token files: one `token ... tag` line per token, a blank line between sentences.

Columns are tab-separated when the line holds a tab (a token may then hold spaces, which cleaning splits),
else whitespace-separated; the token is the first column and the tag the last, whatever lies between
(CoNLL-2003's POS and chunk columns). A line of whitespace only, such as the single tab between the
builtin NER tweets, ends a sentence, and `-DOCSTART-` lines are document markers, not tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DOCSTART = "-DOCSTART-"
SUFFIXES = (".conll", ".txt", ".iob", ".bio", ".tsv")


@dataclass
class ConllSentences:
    """The sentences of a file as (tokens, tags) pairs, and the lines that could not be read as a token and a tag."""

    sentences: list[tuple[list[str], list[str]]] = field(default_factory=list)
    malformed_lines: int = 0


def _columns(line: str) -> list[str]:
    if "\t" in line:  # trailing tabs/spaces are no column; a leading tab leaves an empty token (dropped later)
        return [c.strip() for c in line.rstrip().split("\t")]
    return line.split()


def parse_conll(text: str) -> ConllSentences:
    """The sentences of CoNLL text; a line without both a token and a tag is skipped and counted, never fatal."""
    out = ConllSentences()
    tokens: list[str] = []
    tags: list[str] = []

    def _end() -> None:
        if tokens:
            out.sentences.append((tokens.copy(), tags.copy()))
        tokens.clear()
        tags.clear()

    for line in text.splitlines():
        if not line.strip():
            _end()
            continue
        columns = _columns(line)
        if columns[0] == DOCSTART:
            _end()
            continue
        if len(columns) < 2 or not columns[-1]:
            out.malformed_lines += 1
            continue
        tokens.append(columns[0])
        tags.append(columns[-1])
    _end()
    return out
