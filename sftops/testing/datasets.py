"""Small synthetic labelled datasets whose labels are learnable from the words: texts, and tagged sentences."""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from ..data import PreparedData

LABELS = ("negative", "neutral", "positive")

_WORDS = {
    "negative": ["awful", "terrible", "hate", "broken", "worst", "angry", "late", "rude"],
    "neutral": ["today", "report", "meeting", "schedule", "update", "announced", "weather", "train"],
    "positive": ["great", "love", "excellent", "happy", "best", "wonderful", "thanks", "amazing"],
    "question": ["why", "how", "when", "where", "what", "which", "who", "whether"],
}
_FILLER = ["the", "a", "my", "this", "flight", "car", "service", "day", "is", "was", "so", "very"]


def make_text_dataset(
    n: int = 200,
    labels: tuple[str, ...] = ("negative", "neutral", "positive"),
    *,
    seed: int = 0,
    text_column: str = "text",
    label_column: str = "label",
) -> pd.DataFrame:
    """`n` unique short texts, balanced over `labels` (names from negative/neutral/positive/question)."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    while len(rows) < n:
        label = labels[len(rows) % len(labels)]
        words = rng.sample(_FILLER, 4) + rng.sample(_WORDS[label], 2)
        rng.shuffle(words)
        text = " ".join(words) + f" #{rng.randrange(10**6)}"
        if text not in seen:
            seen.add(text)
            rows.append({text_column: text, label_column: label})
    return pd.DataFrame(rows)


def prepared_from_frames(n_train: int = 60, n_test: int = 40, seed: int = 0, n_validation: int = 10) -> PreparedData:
    """PreparedData over synthetic texts (columns text, label, label_name) in memory: a stage's input without files."""
    from ..data import LabelMap, PreparedData

    label_map = LabelMap(LABELS)
    frame = make_text_dataset(n_train + n_test + n_validation, LABELS, seed=seed).rename(columns={"label": "label_name"})
    frame["label"] = label_map.encode(frame["label_name"])
    train, test = frame.iloc[:n_train], frame.iloc[n_train : n_train + n_test]
    validation = frame.iloc[n_train + n_test :]
    return PreparedData(train=train.reset_index(drop=True), validation=validation.reset_index(drop=True),
                        test=test.reset_index(drop=True), label_map=label_map, meta={})


# token classification: entity words per type (some two words long), and the words around them
ENTITY_TYPES = ("LOC", "ORG", "PER")
_ENTITIES = {
    "PER": ["Alice", "Bob Smith", "Carol", "Dan Brown", "Erin", "Frank Lee"],
    "LOC": ["Paris", "New York", "Berlin", "Lagos", "San Diego", "Tokyo"],
    "ORG": ["Acme", "Globex Corp", "Initech", "Umbrella", "Stark Industries", "Hooli"],
}
_CONTEXT = ["met", "visited", "joined", "left", "saw", "called", "in", "at", "with", "today", "yesterday", "we", "they"]


def make_tagged_sentences(n: int = 100, *, seed: int = 0, types: tuple[str, ...] = ENTITY_TYPES
                          ) -> list[tuple[list[str], list[str]]]:
    """`n` distinct short sentences as (tokens, IOB2 tags), each with one or two entities of `types` (from
    LOC/ORG/PER) among filler words; no token holds whitespace."""
    rng = random.Random(seed)
    out: list[tuple[list[str], list[str]]] = []
    seen: set[str] = set()
    while len(out) < n:
        tokens: list[str] = []
        tags: list[str] = []
        for _ in range(rng.randint(1, 2)):
            tokens += rng.sample(_CONTEXT, 2)
            tags += ["O", "O"]
            kind = rng.choice(types)
            words = rng.choice(_ENTITIES[kind]).split()
            tokens += words
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
        tokens.append(f"#{rng.randrange(10**6)}")
        tags.append("O")
        if " ".join(tokens) not in seen:
            seen.add(" ".join(tokens))
            out.append((tokens, tags))
    return out


def write_conll(path: str | Path, sentences: list[tuple[list[str], list[str]]], *, separator: str = " ") -> Path:
    """Write sentences as a CoNLL file (`token<separator>tag` lines, a blank line after each sentence)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("".join(f"{t}{separator}{g}\n" for t, g in zip(tokens, tags)) + "\n"
                            for tokens, tags in sentences), encoding="utf-8")
    return path


def prepared_ner_from_frames(n_train: int = 60, n_test: int = 30, seed: int = 0, n_validation: int = 10) -> PreparedData:
    """PreparedData for token classification over synthetic sentences (columns text, tokens, tags, tag_ids) in memory,
    with the meta keys prepare writes that readers use (task, entity_types)."""
    from ..data import LabelMap, PreparedData
    from ..tagging import tag_names

    label_map = LabelMap(tuple(tag_names(ENTITY_TYPES)))
    sentences = make_tagged_sentences(n_train + n_test + n_validation, seed=seed)
    frame = pd.DataFrame({"text": [" ".join(t) for t, _ in sentences], "tokens": [t for t, _ in sentences],
                          "tags": [g for _, g in sentences], "tag_ids": [label_map.encode(g) for _, g in sentences]})
    train, test = frame.iloc[:n_train], frame.iloc[n_train : n_train + n_test]
    validation = frame.iloc[n_train + n_test :]
    meta = {"task": "token_classification", "entity_types": list(ENTITY_TYPES), "label_map": label_map.to_json()}
    return PreparedData(train=train.reset_index(drop=True), validation=validation.reset_index(drop=True),
                        test=test.reset_index(drop=True), label_map=label_map, meta=meta)


def doc_paragraphs(n: int) -> list[str]:
    """The first `n` distinct Python-documentation paragraphs over 200 characters: long, technical, out of domain."""
    import pydoc_data.topics

    paragraphs = [p.strip() for text in pydoc_data.topics.topics.values() for p in text.split("\n\n") if len(p.strip()) > 200]
    return list(dict.fromkeys(paragraphs))[:n]  # some paragraphs repeat across topics
