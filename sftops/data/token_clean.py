"""Clean tagged sentences for token classification, counting every change and every sentence dropped.

Per sentence, in order: a tag that is no scheme's (not O or a B-/I-/S-/E- prefix and a type; S-/E- when
`data.tag_scheme` names a scheme without them), or whose type `data.labels` does not list, becomes O;
BIOES / IOB1 tags become IOB2; each token is repaired as classification texts are (ftfy, control
characters removed), a token holding whitespace becomes several tokens (the first keeps the tag, the
rest continue its entity or stay O) and an empty one goes; then an I-X that follows no X becomes B-X
(the conlleval convention). Sentences left empty go, as do those outside data.min_chars/max_chars, and repeats: sentences are the same when
their texts (tokens joined by spaces) share a `keys.text_key`, the identity the split and the gate use;
the first is kept, and across given splits the copy in the held-out split (see clean.py).

Extra sources (retrain's feedback) are untrusted: a sentence with a tag of no scheme or of a type the
source does not have is dropped, and one whose text the source has is settled by `data.feedback_conflict`
as for classification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..config import DataConfig
from ..tagging import OUTSIDE, Scheme, detect_scheme, entity_types, parse_tag, repair_iob2, to_iob2
from ..textcheck import CONTROL_CHARACTERS
from .clean import in_held_out_split
from .encoding import repair_text
from .keys import text_key
from .token_sources import RawSentences

CLEANING_COUNTS = (
    "malformed_lines",  # CoNLL lines without a token and a tag
    "malformed_rows",  # table rows whose tokens and tags are not two lists of one length
    "unparsable_rows",  # extra-source rows that are not JSON objects / readable
    "unknown_split",  # rows whose split column value is in no data.split_values list
    "tags_outside_scheme",  # -> O
    "tags_of_unknown_type",  # type not in data.labels -> O
    "tags_converted_to_iob2",  # BIOES / IOB1 tags rewritten
    "stray_inside_repaired",  # I-X after no X -> B-X
    "tokens_repaired",  # encoding repaired or control characters removed
    "tokens_split",  # tokens holding whitespace, split into several
    "empty_tokens",  # dropped
    "empty_sentences",  # dropped
    "too_short",  # dropped: text (tokens joined by spaces) under data.min_chars
    "too_long",  # dropped: text over data.max_chars
    "duplicate_sentences",  # dropped
    "duplicates_tagged_differently",  # of those, repeats whose tags differ from the kept sentence's
    "in_held_out_split",  # dropped: the same sentence is in a held-out given split
    "extra_invalid_tags",  # extra-source sentences dropped: a tag of no scheme or an unknown type
    "feedback_conflict",  # dropped by data.feedback_conflict
)


@dataclass
class TokenCleanReport:
    """Sentences read and kept, the scheme found, and each count of CLEANING_COUNTS; extra-source sentences too."""

    sentences_read: int
    scheme: Scheme = "iob2"
    sentences_kept: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLEANING_COUNTS, 0))
    extra_sentences_read: int = 0
    extra_sentences_kept: int = 0
    feedback_conflicts: int = 0  # extra sentences whose text the source has with other tags


def configured_types(cfg: DataConfig) -> list[str] | None:
    """The entity types `data.labels` lists (type names, or a tag set such as O, B-PER, I-PER), or None."""
    if cfg.labels is None:
        return None
    parsed = [parse_tag(label) for label in cfg.labels]
    if all(p is not None for p in parsed):
        return entity_types(cfg.labels)
    return sorted(set(cfg.labels))


def _valid_tags(tags: Sequence[str], scheme: Scheme, types: set[str] | None) -> tuple[list[str], int, int]:
    """Tags with each invalid one (no scheme's, or a prefix `scheme` lacks) and each of a type not in `types` as O."""
    out, invalid, unknown = [], 0, 0
    for tag in tags:
        parsed = parse_tag(tag)
        if parsed is None or (parsed[0] in "SE" and scheme != "bioes"):
            out.append(OUTSIDE)
            invalid += 1
        elif types is not None and parsed[0] != OUTSIDE and parsed[1] not in types:
            out.append(OUTSIDE)
            unknown += 1
        else:
            out.append(tag)
    return out, invalid, unknown


def _clean_tokens(tokens: Sequence[str], tags: Sequence[str], counts: dict[str, int]) -> tuple[list[str], list[str]]:
    """Repaired tokens, each whitespace-free and non-empty, with their (IOB2) tags."""
    out_tokens, out_tags = [], []
    for token, tag in zip(tokens, tags):
        fixed, _ = repair_text(token)
        fixed = CONTROL_CHARACTERS.sub("", fixed)
        counts["tokens_repaired"] += fixed != token
        pieces = fixed.split()
        if not pieces:
            counts["empty_tokens"] += 1
            continue
        if len(pieces) > 1:
            counts["tokens_split"] += 1
        parsed = parse_tag(tag)
        rest = f"I-{parsed[1]}" if parsed and parsed[0] != OUTSIDE else OUTSIDE
        out_tokens.extend(pieces)
        out_tags.extend([tag] + [rest] * (len(pieces) - 1))
    return out_tokens, out_tags


def clean_sentences(raw: RawSentences, cfg: DataConfig) -> tuple[pd.DataFrame, TokenCleanReport]:
    """The cleaned sentences (columns text, tokens, tags, extra, split, also_extra) and what cleaning did."""
    frame = raw.frame.reset_index(drop=True)
    report = TokenCleanReport(sentences_read=len(frame) + raw.malformed_rows + raw.unparsable + raw.unknown_split)
    counts = report.counts
    counts.update(malformed_lines=raw.malformed_lines, malformed_rows=raw.malformed_rows,
                  unparsable_rows=raw.unparsable, unknown_split=raw.unknown_split)
    extra = frame["extra"].astype(bool)
    report.extra_sentences_read = int(extra.sum()) + raw.unparsable + raw.extra_malformed_rows
    tags_in = [[str(t).strip() for t in tags] for tags in frame["tags"]]
    source_tags = [t for t, e in zip(tags_in, extra) if not e]
    scheme: Scheme = detect_scheme(source_tags) if cfg.tag_scheme == "auto" else cfg.tag_scheme
    report.scheme = scheme
    listed = configured_types(cfg)
    known = set(listed) if listed is not None else None
    source_types = set(entity_types(tag for tags in source_tags for tag in _valid_tags(tags, scheme, known)[0]))

    rows: list[dict[str, object]] = []
    for tokens, tags, is_extra, split in zip(frame["tokens"], tags_in, extra, frame["split"]):
        valid, invalid, unknown = _valid_tags(tags, scheme, known if not is_extra else source_types)
        if is_extra and (invalid or unknown):
            counts["extra_invalid_tags"] += 1
            continue
        counts["tags_outside_scheme"] += invalid
        counts["tags_of_unknown_type"] += unknown
        if scheme != "iob2":
            valid, converted = to_iob2(valid, scheme)
            counts["tags_converted_to_iob2"] += converted
        words, word_tags = _clean_tokens([str(t) for t in tokens], valid, counts)
        word_tags, repaired = repair_iob2(word_tags)
        counts["stray_inside_repaired"] += repaired
        if not words:
            counts["empty_sentences"] += 1
            continue
        text = " ".join(words)
        if cfg.min_chars is not None and len(text) < cfg.min_chars:
            counts["too_short"] += 1
            continue
        if cfg.max_chars is not None and len(text) > cfg.max_chars:
            counts["too_long"] += 1
            continue
        rows.append({"text": text, "tokens": words, "tags": word_tags, "extra": bool(is_extra), "split": str(split),
                     "key": text_key(text)})
    out = pd.DataFrame(rows, columns=["text", "tokens", "tags", "extra", "split", "key"])
    out = _dedup(out, cfg, report)
    report.sentences_kept = len(out)
    report.extra_sentences_kept = int(out["extra"].sum())
    return out.drop(columns=["key"]).reset_index(drop=True), report


def _dedup(frame: pd.DataFrame, cfg: DataConfig, report: TokenCleanReport) -> pd.DataFrame:
    """Drop repeated sentences (see the module doc) and settle extra sentences the source has (data.feedback_conflict)."""
    counts = report.counts
    repeat = frame.duplicated(subset=["extra", "split", "key"], keep="first")
    counts["duplicate_sentences"] += int(repeat.sum())
    first_tags = frame[~repeat].set_index(["extra", "split", "key"])["tags"]
    counts["duplicates_tagged_differently"] += sum(
        list(tags) != list(first_tags[(e, sp, k)])
        for tags, e, sp, k in zip(frame.loc[repeat, "tags"], frame.loc[repeat, "extra"], frame.loc[repeat, "split"],
                                  frame.loc[repeat, "key"])
    )
    frame = frame[~repeat]
    held = ~frame["extra"] & in_held_out_split(frame)
    counts["in_held_out_split"] += int(held.sum())
    frame = frame[~held]
    extra = frame["extra"]
    source_tags = frame.loc[~extra].set_index("key")["tags"].map(tuple)
    against = frame["key"].map(source_tags)
    matched = extra & against.notna()
    same = matched & pd.Series([tuple(t) == a for t, a in zip(frame["tags"], against)], index=frame.index)
    conflict = matched & ~same
    report.feedback_conflicts = int(conflict.sum())
    feedback_tags = frame.loc[conflict].set_index("key")["tags"]
    source_rows = ~extra & frame["key"].isin(frame.loc[matched, "key"])
    source_conflict = ~extra & frame["key"].isin(feedback_tags.index)
    frame = frame.assign(also_extra=source_rows)  # split.held_out keeps these out of validation/test
    counts["duplicate_sentences"] += int(same.sum())
    drop = same | conflict
    counts["feedback_conflict"] += int(conflict.sum())
    if cfg.feedback_conflict == "prefer_feedback":  # the source sentence keeps its place and takes the new tags
        for i in frame.index[source_conflict]:
            if len(feedback_tags[frame.at[i, "key"]]) == len(frame.at[i, "tokens"]):
                frame.at[i, "tags"] = feedback_tags[frame.at[i, "key"]]
    elif cfg.feedback_conflict == "drop_both":
        counts["feedback_conflict"] += int(source_conflict.sum())
        drop |= source_conflict
    return frame[~drop]
