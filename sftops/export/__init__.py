"""ONNX export: fp32 graph with logits + pooled embedding, a parity gate, and optimized/int8/fp16 variants.

Variants are evaluated through `sftops.inference`, the runtime the server and the promotion gate use.
"""

from ._bundle import ExportReport, VariantResult, export_bundle
from ._onnx import OUTPUTS, export_onnx
from ._parity import Parity, check_parity, compare
from ._runtime import onnx_outputs, torch_outputs, variant_runtime
from ._tracking import log_export
from ._variants import VARIANT_DEVICES, VARIANT_FILES, build_variant
from ._wrapper import graph_inputs, load_classifier, with_embedding

__all__ = [
    "OUTPUTS",
    "VARIANT_DEVICES",
    "VARIANT_FILES",
    "ExportReport",
    "Parity",
    "VariantResult",
    "build_variant",
    "check_parity",
    "compare",
    "export_bundle",
    "export_onnx",
    "graph_inputs",
    "load_classifier",
    "log_export",
    "onnx_outputs",
    "torch_outputs",
    "variant_runtime",
    "with_embedding",
]
