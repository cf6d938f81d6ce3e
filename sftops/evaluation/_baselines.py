"""The two reference points for the fine-tuned model: the base model with a fresh head, and TF-IDF + LogReg."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import ModelConfig
from ..data.labels import LabelMap
from ..defaults import resolve_model_dir
from ..modeling import build_classifier, load_tokenizer, logits_of


def untuned_predictions(cfg: ModelConfig, label_map: LabelMap, texts: Sequence[str], *, seed: int,
                        batch_size: int = 64) -> np.ndarray:
    """Predicted ids of the base model with a freshly initialised head (same seed as training): the 'no fine-tuning' floor."""
    base_dir = resolve_model_dir(cfg.base)
    model = build_classifier(cfg.model_copy(update={"strategy": "full", "freeze_layers": 0}), label_map,
                             seed=seed, base_dir=base_dir)
    logits = logits_of(model, load_tokenizer(base_dir), texts, batch_size=batch_size, max_length=cfg.max_length)
    return logits.argmax(axis=1)


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
