"""Pick the training precision: bf16 on GPUs that support it, fp16 on other GPUs, fp32 on CPU."""

from __future__ import annotations

from typing import Literal

from ..exceptions import ConfigError

Precision = Literal["fp32", "bf16", "fp16"]


def resolve_precision(requested: str) -> Precision:
    """Turn `train.precision` into what this machine runs; asking for half precision on CPU is a ConfigError."""
    import torch

    cuda = torch.cuda.is_available()
    if requested == "auto":
        if not cuda:
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if requested in ("bf16", "fp16") and not cuda:
        raise ConfigError(f"train.precision: {requested} needs a CUDA GPU and none is visible; use auto or fp32")
    if requested == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError("train.precision: this GPU does not support bf16; use auto or fp16")
    return requested  # type: ignore[return-value]
