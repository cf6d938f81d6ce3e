"""Small synthetic labelled text datasets whose labels are learnable from the words."""

from __future__ import annotations

import random

import pandas as pd

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


def doc_paragraphs(n: int) -> list[str]:
    """The first `n` distinct Python-documentation paragraphs over 200 characters: long, technical, out of domain."""
    import pydoc_data.topics

    paragraphs = [p.strip() for text in pydoc_data.topics.topics.values() for p in text.split("\n\n") if len(p.strip()) > 200]
    return list(dict.fromkeys(paragraphs))[:n]  # some paragraphs repeat across topics
