"""ONNX export: fp32 graph with logits + pooled embedding, a parity gate, and optimized/int8/fp16 variants.

Sequence classifiers export logits (B, K), token classifiers (B, T, K). Variants are evaluated through
`sftops.inference`, the runtime the server and the promotion gate use.
"""

from ._bundle import ExportReport, VariantResult, export_bundle
from ._onnx import OUTPUTS, export_onnx
from ._parity import Parity, check_parity, compare, compare_tokens
from ._runtime import onnx_outputs, tagger_outputs, tagger_runtime, torch_outputs, torch_token_outputs, variant_runtime
from ._tracking import log_export
from ._variants import VARIANT_DEVICES, VARIANT_FILES, Int8Recipe, build_int8, build_variant
from ._wrapper import graph_inputs, load_model, model_task, with_embedding

__all__ = [
    "OUTPUTS",
    "VARIANT_DEVICES",
    "VARIANT_FILES",
    "ExportReport",
    "Int8Recipe",
    "Parity",
    "VariantResult",
    "build_int8",
    "build_variant",
    "check_parity",
    "compare",
    "compare_tokens",
    "export_bundle",
    "export_onnx",
    "graph_inputs",
    "load_model",
    "log_export",
    "model_task",
    "onnx_outputs",
    "tagger_outputs",
    "tagger_runtime",
    "torch_outputs",
    "torch_token_outputs",
    "variant_runtime",
    "with_embedding",
]
