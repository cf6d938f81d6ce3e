"""Fine-tuning strategies: full, frozen embeddings + lowest N layers, or LoRA adapters via peft."""

from __future__ import annotations

from ..config import ModelConfig, Task
from ..exceptions import ConfigError

_LAYER_PATHS = ("encoder.layer", "encoder.layers", "transformer.layer", "layers")


def _encoder_layers(base):
    for path in _LAYER_PATHS:
        module = base
        for attr in path.split("."):
            module = getattr(module, attr, None)
            if module is None:
                break
        if module is not None:
            return module
    raise ConfigError(
        f"model.strategy 'freeze': cannot find the encoder layers of {type(base).__name__}; use 'full' or 'lora'"
    )


def _freeze(model, n_layers: int):
    base = model.base_model
    layers = _encoder_layers(base)
    if n_layers > len(layers):
        raise ConfigError(f"model.freeze_layers: {n_layers} exceeds the {len(layers)} encoder layers of the base model")
    if n_layers == len(layers):  # everything below the classification head
        frozen = [base]
    else:
        frozen = [base.embeddings, *layers[:n_layers]]
    for module in frozen:
        for param in module.parameters():
            param.requires_grad_(False)
    return model


def _lora(model, cfg: ModelConfig, task: Task):
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.TOKEN_CLS if task == "token_classification" else TaskType.SEQ_CLS,
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=list(cfg.lora.target_modules),
    )
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise ConfigError(f"model.lora.target_modules {cfg.lora.target_modules}: {exc}") from None


def apply_strategy(model, cfg: ModelConfig, task: Task = "classification"):
    """Return `model` prepared for `cfg.strategy` (may be a peft wrapper for 'lora'; its head stays trainable)."""
    if cfg.strategy == "full":
        return model
    if cfg.strategy == "freeze":
        return _freeze(model, cfg.freeze_layers)
    if cfg.strategy == "lora":
        return _lora(model, cfg, task)
    raise ConfigError(f"model.strategy: unknown strategy {cfg.strategy!r}; expected full, freeze or lora")


def count_trainable(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
