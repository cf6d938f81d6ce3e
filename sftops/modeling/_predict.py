"""Batched inference for logits (per text, or per word for token classification): eval mode, no grad,
length-sorted batches padded per batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np


def logits_of(model, tokenizer, texts: Sequence[str], *, batch_size: int = 64, max_length: int = 128) -> np.ndarray:
    """Logits (N, K) of an in-memory model, in the order of `texts`.

    Texts are sorted by token length so each batch pads only to its own longest
    text; that is most of the speed on short tweets.
    """
    texts = [str(t) for t in texts]
    n_labels = int(model.config.num_labels)
    if not texts:
        return np.zeros((0, n_labels), dtype=np.float32)
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    out = np.empty((len(texts), n_labels), dtype=np.float32)
    for idx, logits in _sorted_batches(model, tokenizer, encoded, batch_size):
        out[idx] = logits
    return out


def _sorted_batches(model, tokenizer, encoded, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The model's logits on `encoded` (a tokenizer's BatchEncoding) in length-sorted batches padded per batch:
    (the batch's row indices, its logits) per batch, in eval mode without gradients (the mode restored after)."""
    import torch

    order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                features = [{key: encoded[key][i] for key in encoded} for i in idx]
                batch = tokenizer.pad(features, return_tensors="pt")
                batch = {key: value.to(device) for key, value in batch.items()}
                yield idx, model(**batch).logits.float().cpu().numpy()
    finally:
        model.train(was_training)


def predict_logits(
    model_dir: str | Path, texts: Sequence[str], *, batch_size: int = 64, max_length: int = 128
) -> np.ndarray:
    """Logits (N, K) of the saved classifier in `model_dir` for `texts`, in input order."""
    from transformers import AutoModelForSequenceClassification

    from ._build import load_tokenizer
    from ._info import check_model_dir
    from ._quiet import quiet_weight_loading

    model_dir = check_model_dir(model_dir)
    tokenizer = load_tokenizer(model_dir)
    with quiet_weight_loading():
        model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    return logits_of(model, tokenizer, texts, batch_size=batch_size, max_length=max_length)


def word_logits_of(
    model, tokenizer, sentences: Sequence[Sequence[str]], *, batch_size: int = 64, max_length: int = 128
) -> list[np.ndarray]:
    """Per-word logits (n_words, K) of an in-memory token classifier, one array per sentence, in input order.

    A word's logits are its first sub-token's. A word the model never saw (cut by truncation, or
    one the tokenizer gives no pieces) gets 0 for "O" and -1e4 for every other tag: it is predicted "O".
    """
    from ._words import encode_words, first_subtokens

    n_labels = int(model.config.num_labels)
    outside = int(model.config.label2id.get("O", 0))
    unseen = np.full(n_labels, -1e4, dtype=np.float32)
    unseen[outside] = 0.0
    sentences = [[str(w) for w in sentence] for sentence in sentences]
    if not sentences:
        return []
    encoded = encode_words(tokenizer, sentences, max_length)
    out: list[np.ndarray] = [np.empty((0, n_labels), dtype=np.float32)] * len(sentences)
    for idx, logits in _sorted_batches(model, tokenizer, encoded, batch_size):
        for row, i in enumerate(idx):
            first = first_subtokens(encoded.word_ids(int(i)), len(sentences[i]))
            words = np.tile(unseen, (len(first), 1))
            seen = [(w, p) for w, p in enumerate(first) if p is not None]
            if seen:
                words[[w for w, _ in seen]] = logits[row, [p for _, p in seen]]
            out[i] = words
    return out


def word_tags_of(
    model, tokenizer, sentences: Sequence[Sequence[str]], *, batch_size: int = 64, max_length: int = 128
) -> list[list[str]]:
    """The IOB2 tag names (argmax of `word_logits_of`) an in-memory token classifier gives each word, unrepaired."""
    names = {int(i): str(name) for i, name in model.config.id2label.items()}
    logits = word_logits_of(model, tokenizer, sentences, batch_size=batch_size, max_length=max_length)
    return [[names[int(k)] for k in words.argmax(axis=1)] for words in logits]


def predict_word_tags(
    model_dir: str | Path, sentences: Sequence[Sequence[str]], *, batch_size: int = 64, max_length: int = 128
) -> list[list[str]]:
    """The tag of every word of `sentences` from the saved token classifier in `model_dir`, in input order."""
    from transformers import AutoModelForTokenClassification

    from ._build import load_tokenizer
    from ._info import check_model_dir
    from ._quiet import quiet_weight_loading

    model_dir = check_model_dir(model_dir)
    tokenizer = load_tokenizer(model_dir)
    with quiet_weight_loading():
        model = AutoModelForTokenClassification.from_pretrained(model_dir)
    return word_tags_of(model, tokenizer, sentences, batch_size=batch_size, max_length=max_length)
