"""Load the base model with a fresh K-label head (per text or per token), the label names, dropout and the strategy."""

from __future__ import annotations

import logging
from pathlib import Path

from ..config import ModelConfig, Task
from ..data.labels import LabelMap
from ..exceptions import ModelError
from ._hub import resolve_base_dir
from ._quiet import log_loading, quiet_weight_loading
from ._strategy import apply_strategy

log = logging.getLogger(__name__)

# config attributes that hold dropout probabilities, across BERT-like architectures
_DROPOUT_KEYS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "dropout", "attention_dropout", "classifier_dropout")


def load_tokenizer(model_dir: str | Path):
    """The tokenizer saved in `model_dir`; a folder without one is a ModelError."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(model_dir))
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{model_dir}: cannot load a tokenizer ({_first_line(exc)}); the folder needs tokenizer files") from None


def check_base(cfg: ModelConfig) -> Path:
    """Resolve `model.base` (a Hub id: downloaded once into the Hub cache) and prove its config and tokenizer load,
    before any run or study is started."""
    from transformers import AutoConfig

    base = resolve_base_dir(cfg)
    try:
        config = AutoConfig.from_pretrained(str(base))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"model.base: {base} is not a usable Hugging Face model folder ({_first_line(exc)})") from None
    if not getattr(config, "model_type", None):
        raise ModelError(f"model.base: {base}/config.json names no model_type, so it is not a Hugging Face model folder")
    try:
        load_tokenizer(base)
    except ModelError as exc:
        raise ModelError(f"model.base: {exc}") from None
    return base


def build_classifier(
    cfg: ModelConfig,
    label_map: LabelMap,
    *,
    seed: int,
    base_dir: str | Path | None = None,
    task: Task = "classification",
):
    """`cfg.base` with a freshly initialised (seeded) K-label head, ready for the trainer.

    The head is per text for `task` "classification" and per token for "token_classification"
    (`label_map` then holds the tag names). The model is returned with `cfg.strategy` applied:
    all weights trainable, embeddings + lowest layers frozen, or wrapped in LoRA adapters (peft).
    """
    from transformers import AutoConfig, set_seed

    base = Path(base_dir) if base_dir is not None else resolve_base_dir(cfg)
    overrides = {"num_labels": len(label_map), "id2label": label_map.id2label, "label2id": label_map.label2id}
    try:
        config = AutoConfig.from_pretrained(str(base), **overrides)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"model.base: {base} is not a usable Hugging Face model folder ({_first_line(exc)})") from None
    if cfg.dropout is not None:
        for key in _DROPOUT_KEYS:
            if getattr(config, key, None) is not None or (key == "classifier_dropout" and hasattr(config, key)):
                setattr(config, key, cfg.dropout)
    set_seed(seed)
    model_class = model_class_for(task)
    try:
        with quiet_weight_loading():
            model, info = model_class.from_pretrained(str(base), config=config, ignore_mismatched_sizes=True,
                                                      output_loading_info=True)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        head = "token" if task == "token_classification" else "sequence"
        raise ModelError(
            f"model.base: cannot load weights from {base} ({_first_line(exc)}); "
            f"it must hold model.safetensors (or pytorch_model.bin) of a model with a {head}-classification class"
        ) from None
    log_loading(model, cfg.base, info)
    return apply_strategy(model, cfg, task)


def model_class_for(task: Task):
    """The transformers Auto class of `task`'s model: sequence classification, or token classification."""
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    return AutoModelForTokenClassification if task == "token_classification" else AutoModelForSequenceClassification


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
