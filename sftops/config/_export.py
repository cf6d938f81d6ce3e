"""The `export` section: ONNX export, parity gate and variants."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt

from ._base import Section


class ExportConfig(Section):
    """ONNX opset, parity tolerances and which variants to build."""

    opset: PositiveInt = 17
    parity_atol: PositiveFloat = 1e-3
    min_argmax_agreement: float = Field(0.999, gt=0, le=1)
    parity_samples: PositiveInt = 256
    variants: list[Literal["optimized", "int8", "fp16"]] = Field(
        default_factory=lambda: ["optimized", "int8", "fp16"]
    )
    max_f1_drop: float = Field(0.01, ge=0, description="A variant losing more macro-F1 than this is not published.")
