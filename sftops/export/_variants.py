"""Build the bundle's variants from the exported fp32 graph with ONNX Runtime's own tools."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from ..exceptions import ExportError

log = logging.getLogger(__name__)

VARIANT_FILES = {
    "fp32": "model.onnx",
    "optimized": "model.optimized.onnx",
    "int8": "model.int8.onnx",
    "fp16": "model.fp16.onnx",
}
VARIANT_DEVICES: dict[str, Literal["any", "cpu", "cuda"]] = {"fp32": "any", "optimized": "cpu", "int8": "cpu", "fp16": "cuda"}


def build_optimized(fp32: Path, target: Path, *, num_heads: int, hidden_size: int) -> dict[str, int]:
    """ORT transformer optimizer (model_type bert): fuse attention, layer norms and GELU; return fused-op counts."""
    from onnxruntime.transformers.optimizer import optimize_model

    model = optimize_model(str(fp32), model_type="bert", num_heads=num_heads, hidden_size=hidden_size, use_gpu=False)
    model.save_model_to_file(str(target))
    fused = {op: n for op, n in model.get_fused_operator_statistics().items() if n}
    log.info("optimized graph: fused %s", fused)
    return fused


def build_int8(fp32: Path, target: Path) -> None:
    """Dynamic int8 quantization of the weights, from the un-fused graph (fused graphs do not quantize).

    Per-channel scales: on MiniLM they halved the logits error of per-tensor ones at the same speed.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)


def build_fp16(fp32: Path, target: Path, *, num_heads: int, hidden_size: int) -> None:
    """Fused graph in fp16 for the CUDA EP; inputs and outputs stay int64/fp32 so clients need no change."""
    from onnxruntime.transformers.optimizer import optimize_model

    # opt_level=0: the Python fusions only. A higher level runs an offline ORT session on the
    # CUDA provider, which fails noisily on GPU-less hosts; ORT optimizes at load time anyway.
    model = optimize_model(
        str(fp32), model_type="bert", num_heads=num_heads, hidden_size=hidden_size, use_gpu=True, opt_level=0
    )
    model.convert_float_to_float16(keep_io_types=True)
    model.save_model_to_file(str(target))


def build_variant(name: str, fp32: Path, folder: Path, *, num_heads: int, hidden_size: int) -> Path:
    """Write variant `name` into `folder`; any tool failure is an ExportError naming the variant."""
    target = folder / VARIANT_FILES[name]
    try:
        if name == "optimized":
            build_optimized(fp32, target, num_heads=num_heads, hidden_size=hidden_size)
        elif name == "int8":
            build_int8(fp32, target)
        elif name == "fp16":
            build_fp16(fp32, target, num_heads=num_heads, hidden_size=hidden_size)
        else:
            raise ValueError(f"unknown variant {name!r}")
    except Exception as exc:  # ORT's tools raise anything from onnx, numpy or their own code
        raise ExportError(f"building the {name} variant failed ({type(exc).__name__}: {exc})") from exc
    return target
