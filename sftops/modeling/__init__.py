"""Build the classifier (base model + K-label head per text or per token + fine-tuning strategy) and run it for logits."""

from ._build import build_classifier, check_base, load_tokenizer, model_class_for
from ._hub import ResolvedBase, resolve_base, resolve_base_dir
from ._info import MODEL_INFO_FILE, TrainedModelInfo, check_model_dir
from ._predict import logits_of, predict_logits, predict_word_tags, word_logits_of, word_tags_of
from ._quiet import quiet_weight_loading
from ._save import save_model
from ._strategy import apply_strategy, count_trainable
from ._words import count_truncated_entities, encode_words, entities_cut, first_subtokens, kept_words

__all__ = [
    "MODEL_INFO_FILE",
    "ResolvedBase",
    "TrainedModelInfo",
    "apply_strategy",
    "build_classifier",
    "check_base",
    "check_model_dir",
    "count_trainable",
    "count_truncated_entities",
    "encode_words",
    "entities_cut",
    "first_subtokens",
    "kept_words",
    "load_tokenizer",
    "logits_of",
    "model_class_for",
    "predict_logits",
    "predict_word_tags",
    "quiet_weight_loading",
    "resolve_base",
    "resolve_base_dir",
    "save_model",
    "word_logits_of",
    "word_tags_of",
]
