"""Build the classifier (base model + K-label head + fine-tuning strategy) and run it for logits."""

from ._build import build_classifier, check_base, load_tokenizer
from ._info import MODEL_INFO_FILE, TrainedModelInfo, check_model_dir
from ._predict import logits_of, predict_logits
from ._save import save_model
from ._strategy import apply_strategy, count_trainable

__all__ = [
    "MODEL_INFO_FILE",
    "TrainedModelInfo",
    "apply_strategy",
    "build_classifier",
    "check_base",
    "check_model_dir",
    "count_trainable",
    "load_tokenizer",
    "logits_of",
    "predict_logits",
    "save_model",
]
