"""Small synthetic labelled text datasets whose labels are learnable from the words."""

from __future__ import annotations

import random
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


def doc_paragraphs(n: int) -> list[str]:
    """The first `n` distinct Python-documentation paragraphs over 200 characters: long, technical, out of domain."""
    import pydoc_data.topics

    paragraphs = [p.strip() for text in pydoc_data.topics.topics.values() for p in text.split("\n\n") if len(p.strip()) > 200]
    return list(dict.fromkeys(paragraphs))[:n]  # some paragraphs repeat across topics
