"""The `train` section: optimiser, schedule, regularisation, early stopping, precision."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt

from ._base import Section


class TrainConfig(Section):
    """Hyperparameters of one fine-tuning run (tuning overrides some of them per trial)."""

    learning_rate: PositiveFloat = Field(5e-5, lt=1)
    batch_size: PositiveInt = 32
    eval_batch_size: PositiveInt = 64
    epochs: PositiveFloat = 3
    weight_decay: NonNegativeFloat = 0.01
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    lr_scheduler: Literal["linear", "cosine", "constant_with_warmup"] = "linear"
    gradient_accumulation_steps: PositiveInt = 1
    max_grad_norm: PositiveFloat = 1.0
    early_stopping_patience: PositiveInt = 2
    eval_steps: PositiveInt | None = Field(None, description="Evaluate every N steps; null = once per epoch.")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="auto = bf16 on GPUs that support it, fp16 on other GPUs; on CPU bf16 autocast where the CPU "
        "has AVX512-BF16 or AMX and a short probe finds it faster, else fp32.",
    )
    group_by_length: bool = True
    seed: int = 42
