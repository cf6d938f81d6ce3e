"""Turn a prepared split into tokenized examples (unpadded: the collator pads each batch)."""

from __future__ import annotations

import pandas as pd


def tokenize_frame(frame: pd.DataFrame, tokenizer, max_length: int) -> list[dict[str, list[int] | int]]:
    """One dict per row with the tokenizer's ids (truncated to `max_length`, not padded) and `labels`."""
    encoded = tokenizer(frame["text"].astype(str).tolist(), truncation=True, max_length=max_length)
    keys = list(encoded.keys())
    labels = frame["label"].astype(int).tolist()
    return [{**{key: encoded[key][i] for key in keys}, "labels": labels[i]} for i in range(len(frame))]


def subsample(frame: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """A stratified sample of at most `n` rows (all rows when `n` is None or not smaller)."""
    if n is None or n >= len(frame):
        return frame
    from sklearn.model_selection import train_test_split

    sample, _ = train_test_split(frame, train_size=n, stratify=frame["label"], random_state=seed)
    return sample.reset_index(drop=True)
