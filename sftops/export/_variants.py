"""Build the bundle's variants from the exported fp32 graph with ONNX Runtime's own tools."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..exceptions import ExportError
from ._smooth import smooth_model

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


@dataclass(frozen=True)
class Int8Recipe:
    """How the int8 variant is built (export.int8_*): SmoothQuant strength, nodes kept in fp32, calibration feeds."""

    smooth_alpha: float | None = None
    keep_fp32: tuple[str, ...] = ()
    calibration: Callable[[], Iterable[dict[str, np.ndarray]]] | None = None


def kept_nodes(fp32: Path, patterns: Sequence[str]) -> list[str]:
    """Names of the MatMul/Gemm nodes of `fp32` that one of the regular expressions `patterns` matches (re.search)."""
    import onnx

    if not patterns:
        return []
    compiled = [re.compile(p) for p in patterns]
    model = onnx.load(str(fp32), load_external_data=False)
    return [node.name for node in model.graph.node
            if node.op_type in ("MatMul", "Gemm") and any(p.search(node.name) for p in compiled)]


def build_int8(fp32: Path, target: Path, recipe: Int8Recipe = Int8Recipe()) -> None:
    """Dynamic int8 quantization of the weights, from the un-fused graph (fused graphs do not quantize).

    Per-channel scales: on MiniLM they halved the logits error of per-tensor ones at the same speed. With
    `recipe.smooth_alpha` the MatMul inputs are first smoothed on the calibration texts (`smooth_model`); nodes
    matching `recipe.keep_fp32` stay in fp32.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = fp32
    if recipe.smooth_alpha is not None:
        if recipe.calibration is None:
            raise ValueError("SmoothQuant needs calibration texts")
        source = target.with_name(target.stem + ".smoothed.onnx")
        n = smooth_model(fp32, source, recipe.calibration(), recipe.smooth_alpha)
        log.info("int8: %d MatMul inputs smoothed (alpha %g)", n, recipe.smooth_alpha)
    excluded = kept_nodes(fp32, recipe.keep_fp32)
    if excluded:
        log.info("int8: %d nodes kept in fp32: %s", len(excluded), excluded)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=excluded)
    finally:
        if source != fp32:
            source.unlink(missing_ok=True)


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


def build_variant(
    name: str, fp32: Path, folder: Path, *, num_heads: int, hidden_size: int, int8: Int8Recipe = Int8Recipe()
) -> Path:
    """Write variant `name` into `folder` (int8 by `int8`); any tool failure is an ExportError naming the variant."""
    target = folder / VARIANT_FILES[name]
    try:
        if name == "optimized":
            build_optimized(fp32, target, num_heads=num_heads, hidden_size=hidden_size)
        elif name == "int8":
            build_int8(fp32, target, int8)
        elif name == "fp16":
            build_fp16(fp32, target, num_heads=num_heads, hidden_size=hidden_size)
        else:
            raise ValueError(f"unknown variant {name!r}")
    except Exception as exc:  # ORT's tools raise anything from onnx, numpy or their own code
        raise ExportError(f"building the {name} variant failed ({type(exc).__name__}: {exc})") from exc
    return target
