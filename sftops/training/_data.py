"""Turn a prepared split into tokenized examples (unpadded: the collator pads each batch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..data.labels import LabelMap
from ..exceptions import DataError
from ..tagging import parse_tag

IGNORE = -100  # the label the loss skips (the Trainer's and the collator's convention)


def tokenize_frame(frame: pd.DataFrame, tokenizer, max_length: int) -> list[dict[str, list[int] | int]]:
    """One dict per row with the tokenizer's ids (truncated to `max_length`, not padded) and `labels`."""
    encoded = tokenizer(frame["text"].astype(str).tolist(), truncation=True, max_length=max_length)
    keys = list(encoded.keys())
    labels = frame["label"].astype(int).tolist()
    return [{**{key: encoded[key][i] for key in keys}, "labels": labels[i]} for i in range(len(frame))]


@dataclass(frozen=True)
class TaggedExamples:
    """A token-classification split, tokenized: examples for the Trainer, and what scoring by word needs."""

    examples: list[dict[str, list[int]]]
    first_subtokens: list[list[int | None]]  # per sentence, each word's first sub-token (None: cut, or no pieces)
    tags: list[list[str]]  # per sentence, the gold IOB2 tag of every word (cut words included)
    entities_total: int
    entities_truncated: int  # entities with a word that truncation cut


def inside_tags(label_map: LabelMap) -> dict[int, int]:
    """B-X id -> I-X id: the tag a word's later sub-tokens get when every sub-token is labelled."""
    ids = label_map.label2id
    inside = {}
    for name, i in ids.items():
        parsed = parse_tag(name)
        if parsed and parsed[0] == "B" and f"I-{parsed[1]}" in ids:
            inside[i] = ids[f"I-{parsed[1]}"]
    return inside


def align_labels(word_ids: Sequence[int | None], tag_ids: Sequence[int], inside: Mapping[int, int],
                 all_subtokens: bool) -> list[int]:
    """One label per sub-token: a word's tag on its first sub-token, IGNORE on special tokens and, unless
    `all_subtokens`, on the word's other sub-tokens (which otherwise get its tag, B-X as I-X)."""
    labels = []
    previous = None
    for word in word_ids:
        if word is None:
            labels.append(IGNORE)
        elif word != previous:
            labels.append(int(tag_ids[word]))
        elif all_subtokens:
            labels.append(inside.get(int(tag_ids[word]), int(tag_ids[word])))
        else:
            labels.append(IGNORE)
        if word is not None:
            previous = word
    return labels


def tokenize_tagged_frame(frame: pd.DataFrame, tokenizer, max_length: int, label_map: LabelMap, *,
                          label_all_subtokens: bool = False) -> TaggedExamples:
    """Tokenize a prepared split's `tokens` as pre-split words and align its `tag_ids` to the sub-tokens."""
    from ..modeling import encode_words, entities_cut, first_subtokens

    missing = [c for c in ("tokens", "tag_ids") if c not in frame.columns]
    if missing:
        raise DataError(f"prepared split has no {missing} column(s); token classification needs data prepared with "
                        "task: token_classification (rerun `sftops prepare`)")
    sentences = [[str(w) for w in words] for words in frame["tokens"]]
    tag_ids = [[int(t) for t in ids] for ids in frame["tag_ids"]]
    encoded = encode_words(tokenizer, sentences, max_length)
    keys = list(encoded.keys())
    inside = inside_tags(label_map)
    examples, firsts, gold = [], [], []
    total = truncated = 0
    for i, (words, ids) in enumerate(zip(sentences, tag_ids)):
        word_ids = encoded.word_ids(i)
        examples.append({**{key: encoded[key][i] for key in keys},
                         "labels": align_labels(word_ids, ids, inside, label_all_subtokens)})
        firsts.append(first_subtokens(word_ids, len(words)))
        tags = [label_map.names[t] for t in ids]
        gold.append(tags)
        entities, cut = entities_cut(word_ids, tags, max_length)
        total += entities
        truncated += cut
    return TaggedExamples(examples, firsts, gold, total, truncated)


def subsample(frame: pd.DataFrame, n: int | None, seed: int, *, stratify: str | None = "label") -> pd.DataFrame:
    """At most `n` rows (all rows when `n` is None or not smaller), stratified by column `stratify` (None: random)."""
    if n is None or n >= len(frame):
        return frame
    if stratify is None:
        return frame.sample(n=n, random_state=seed).reset_index(drop=True)
    from sklearn.model_selection import train_test_split

    sample, _ = train_test_split(frame, train_size=n, stratify=frame[stratify], random_state=seed)
    return sample.reset_index(drop=True)
