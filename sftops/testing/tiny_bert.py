"""A tiny randomly initialised BERT with the real MiniLM tokenizer: seconds to train, same code paths."""

from __future__ import annotations

from pathlib import Path

from ..defaults import builtin_model_dir


def make_tiny_bert(path: str | Path, *, hidden: int = 32, layers: int = 2, heads: int = 2, seed: int = 0) -> Path:
    """Write a tiny random `BertModel` folder (config, safetensors, tokenizer) at `path` and return it."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    path = Path(path)
    tokenizer = AutoTokenizer.from_pretrained(builtin_model_dir())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 2,
        max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def save_classifier(base: str | Path, target: str | Path, seed: int = 0) -> Path:
    """A plain HF sequence-classification folder over `base` (fresh seeded 3-label head), tokenizer and label_map.json."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ..data import LabelMap
    from .datasets import LABELS

    target = Path(target)
    label_map = LabelMap(LABELS)
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base), num_labels=len(LABELS), id2label=label_map.id2label, label2id=label_map.label2id
    )
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(str(base)).save_pretrained(target)
    label_map.save(target / "label_map.json")
    return target


def save_token_classifier(base: str | Path, target: str | Path, seed: int = 0, max_length: int = 32) -> Path:
    """A saved token classifier over `base` (fresh seeded head for the NER_TYPES tags), as `sftops train` writes it."""
    from ..config import ModelConfig
    from ..modeling import TrainedModelInfo, build_classifier, load_tokenizer, save_model
    from .ner_data import ner_label_map

    label_map = ner_label_map()
    cfg = ModelConfig(base=str(base), max_length=max_length)
    model = build_classifier(cfg, label_map, seed=seed, base_dir=base, task="token_classification")
    info = TrainedModelInfo(base_model=str(base), strategy="full", max_length=max_length, task="token_classification")
    return save_model(model, load_tokenizer(base), label_map, info, target)
