"""The `export` section: ONNX export, parity gate, variants and the drift reference."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from ._base import Section

VariantName = Literal["optimized", "int8", "fp16"]
_ALL_VARIANTS: tuple[VariantName, ...] = ("optimized", "int8", "fp16")


class ExportConfig(Section):
    """ONNX opset, parity tolerances, which variants to build and when to publish them."""

    opset: int = Field(17, ge=14, le=20, description="ONNX opset of the exported graph.")
    parity_atol: PositiveFloat = Field(1e-3, description="Max |logits_onnx - logits_torch| (and embedding) allowed.")
    min_argmax_agreement: float = Field(0.999, gt=0, le=1, description="Fraction of test examples whose argmax must agree.")
    parity_samples: PositiveInt = Field(256, description="Test examples for the parity gate (checked before any variant).")
    eval_samples: PositiveInt | None = Field(
        None, description="Test examples for each variant's macro-F1 and speed; null = the whole test split."
    )
    batch_size: PositiveInt = Field(32, description="Batch size for the comparisons (length-sorted batches).")
    variants: list[VariantName] = Field(
        default_factory=lambda: list(_ALL_VARIANTS),
        description="Variants built beside the fp32 model.onnx.",
    )
    max_f1_drop: float = Field(0.01, ge=0, le=1, description="A variant losing more test macro-F1 than this is not published.")
    require_speedup: bool = Field(
        True, description="Publish a CPU variant (optimized, int8) only if it beats fp32 ONNX speed in the same run."
    )
    drift_samples: PositiveInt = Field(
        1000, description="Most validation texts in the drift reference (texts the model did not train on); all if fewer."
    )

    @field_validator("variants")
    @classmethod
    def _unique(cls, value: list[VariantName]) -> list[VariantName]:
        if len(set(value)) != len(value):
            raise ValueError(f"each variant may appear once, got {value}")
        return value
