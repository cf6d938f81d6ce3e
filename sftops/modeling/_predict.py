"""Batched inference for logits: eval mode, no grad, length-sorted batches padded per batch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def logits_of(model, tokenizer, texts: Sequence[str], *, batch_size: int = 64, max_length: int = 128) -> np.ndarray:
    """Logits (N, K) of an in-memory model, in the order of `texts`.

    Texts are sorted by token length so each batch pads only to its own longest
    text; that is most of the speed on short tweets.
    """
    import torch

    texts = [str(t) for t in texts]
    n_labels = int(model.config.num_labels)
    if not texts:
        return np.zeros((0, n_labels), dtype=np.float32)
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")
    device = next(model.parameters()).device
    out = np.empty((len(texts), n_labels), dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                features = [{key: encoded[key][i] for key in encoded} for i in idx]
                batch = tokenizer.pad(features, return_tensors="pt")
                batch = {key: value.to(device) for key, value in batch.items()}
                out[idx] = model(**batch).logits.float().cpu().numpy()
    finally:
        model.train(was_training)
    return out


def predict_logits(
    model_dir: str | Path, texts: Sequence[str], *, batch_size: int = 64, max_length: int = 128
) -> np.ndarray:
    """Logits (N, K) of the saved classifier in `model_dir` for `texts`, in input order."""
    from transformers import AutoModelForSequenceClassification

    from ._build import load_tokenizer
    from ._info import check_model_dir

    model_dir = check_model_dir(model_dir)
    tokenizer = load_tokenizer(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    return logits_of(model, tokenizer, texts, batch_size=batch_size, max_length=max_length)
