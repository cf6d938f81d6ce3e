"""Reference points for the fine-tuned model: the base model with a fresh head, and TF-IDF + LogReg (the CRF: _crf)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import ModelConfig, Task
from ..data.labels import LabelMap
from ..modeling import build_classifier, load_tokenizer, logits_of, resolve_base_dir, word_tags_of


def _untuned(cfg: ModelConfig, label_map: LabelMap, seed: int, task: Task):
    """The base model with a fresh seeded head, built as training builds it (all weights, no adapters), and its tokenizer."""
    base_dir = resolve_base_dir(cfg)
    model = build_classifier(cfg.model_copy(update={"strategy": "full", "freeze_layers": 0}), label_map,
                             seed=seed, base_dir=base_dir, task=task)
    return model, load_tokenizer(base_dir)


def untuned_predictions(cfg: ModelConfig, label_map: LabelMap, texts: Sequence[str], *, seed: int,
                        batch_size: int = 64) -> np.ndarray:
    """Predicted ids of the base model with a freshly initialised head (same seed as training): the 'no fine-tuning' floor."""
    model, tokenizer = _untuned(cfg, label_map, seed, "classification")
    logits = logits_of(model, tokenizer, texts, batch_size=batch_size, max_length=cfg.max_length)
    return logits.argmax(axis=1)


def untuned_word_tags(cfg: ModelConfig, label_map: LabelMap, sentences: Sequence[Sequence[str]], *, seed: int,
                      batch_size: int = 64) -> list[list[str]]:
    """IOB2 tags per word of the base model with a freshly initialised token head (same seed as training)."""
    model, tokenizer = _untuned(cfg, label_map, seed, "token_classification")
    return word_tags_of(model, tokenizer, sentences, batch_size=batch_size, max_length=cfg.max_length)


def tfidf_logreg_predictions(train_texts: Sequence[str], train_labels: Sequence[int], texts: Sequence[str],
                             *, seed: int) -> np.ndarray:
    """Predicted ids of a word/bigram TF-IDF + logistic regression fitted on the train split."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True),
        LogisticRegression(max_iter=2000, C=4.0, random_state=seed),
    )
    pipeline.fit(list(train_texts), np.asarray(train_labels, dtype=int))
    return pipeline.predict(list(texts))
