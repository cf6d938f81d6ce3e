"""SmoothQuant for ONNX Runtime's dynamic int8: move activation outliers into the weights before quantizing.

Dynamic int8 quantizes each MatMul's input with one scale per tensor; a few outlier channels (BERT's LayerNorm
and GELU outputs) then leave the other channels a handful of levels, and that is most of int8's disagreement
with fp32. SmoothQuant (Xiao et al., 2023) rescales channel k of the input by 1/s_k and row k of the weights
by s_k, the product unchanged: s_k = max|x_k|^alpha / max|w_k|^(1 - alpha), x measured on calibration texts.

Own code because ORT's own SmoothQuant (`quantize_static(extra_options={"SmoothQuant": True})`) needs Intel
Neural Compressor and serves static quantization only; here the rescale is one `Mul` per activation tensor
(shared by the MatMuls that read it), which the dynamic quantizer then sees as the MatMul input.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np


def _const_matmuls(model) -> dict[str, list]:
    """{input tensor: the MatMul nodes that multiply it by a constant 2-D weight}, in graph order."""
    weights = {init.name: init for init in model.graph.initializer if len(init.dims) == 2}
    groups: dict[str, list] = {}
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in weights:
            groups.setdefault(node.input[0], []).append(node)
    return groups


def activation_maxima(fp32: Path, feeds: Iterable[dict[str, np.ndarray]], tensors: list[str]) -> dict[str, np.ndarray]:
    """Per-channel max |x| of each of `tensors` over the real (unpadded) tokens of `feeds`, run in fp32 ONNX Runtime."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(fp32))
    known = {out.name for out in model.graph.output}
    model.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                              for name in tensors if name not in known)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    maxima: dict[str, np.ndarray] = {}
    for feed in feeds:
        real = feed["attention_mask"].astype(bool)
        for name, value in zip(tensors, session.run(tensors, feed)):
            batch_max = np.abs(value[real] if value.ndim == 3 else value).max(axis=0)
            maxima[name] = np.maximum(maxima[name], batch_max) if name in maxima else batch_max
    if not maxima:
        raise ValueError("no calibration texts to measure activations on")
    return maxima


def smooth_model(fp32: Path, target: Path, feeds: Iterable[dict[str, np.ndarray]], alpha: float) -> int:
    """Write `fp32` with every constant-weight MatMul input smoothed (see module doc) to `target`; return how many."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(fp32))
    groups = _const_matmuls(model)
    maxima = activation_maxima(fp32, feeds, list(groups))
    weights = {init.name: init for init in model.graph.initializer}
    for k, (tensor, consumers) in enumerate(groups.items()):
        mats = [numpy_helper.to_array(weights[node.input[1]]) for node in consumers]
        w_max = np.max([np.abs(w).max(axis=1) for w in mats], axis=0)
        scale = (np.maximum(maxima[tensor], 1e-5) ** alpha / np.maximum(w_max, 1e-5) ** (1 - alpha)).astype(np.float32)
        for node, w in zip(consumers, mats):
            weights[node.input[1]].CopyFrom(numpy_helper.from_array((w * scale[:, None]).astype(np.float32), node.input[1]))
        inverse, smoothed = f"sftops_smooth_{k}_inv", f"{tensor}_sftops_smoothed"
        model.graph.initializer.append(numpy_helper.from_array((1 / scale).astype(np.float32), inverse))
        position = next(i for i, node in enumerate(model.graph.node) if node is consumers[0])
        model.graph.node.insert(position, onnx.helper.make_node("Mul", [tensor, inverse], [smoothed], name=f"sftops_smooth_{k}"))
        for node in consumers:
            node.input[0] = smoothed
    onnx.save(model, str(target))
    return len(groups)
