"""torch -> ONNX with dynamic batch and sequence axes, outputs `logits` ((B, K), or (B, T, K) per token) and `embedding`.

Uses the TorchScript exporter (`dynamo=False`): in torch 2.13 the dynamo exporter
names an internal value `embedding` (aten.embedding), which collides with our
output name and yields an invalid model, and takes ~10x longer; the TorchScript
graph is also the one ORT's BERT fusion patterns are written for.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from ..exceptions import ExportError

OUTPUTS = ("logits", "embedding")
# two texts of different lengths, so the traced graph sees padding in the attention mask
_EXAMPLE_TEXTS = ("a short text", "a somewhat longer example text, so that the batch needs padding")


def export_onnx(
    wrapper, tokenizer, input_names: Sequence[str], target: str | Path, *, opset: int, per_token: bool = False
) -> Path:
    """Export `wrapper` (see `with_embedding`) to `target` and check the file with onnx.checker.

    `per_token`: the logits are per token (B, T, K), so their second axis is the dynamic sequence axis too."""
    import onnx
    import torch

    example = tokenizer(list(_EXAMPLE_TEXTS), padding=True, return_tensors="pt")
    args = tuple(example[name] for name in input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    axes.update({name: {0: "batch"} for name in OUTPUTS})
    if per_token:
        axes["logits"] = {0: "batch", 1: "sequence"}
    target = Path(target)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # TracerWarnings about shape checks that are constant for encoders
            torch.onnx.export(
                wrapper, args, str(target), input_names=list(input_names), output_names=list(OUTPUTS),
                dynamic_axes=axes, opset_version=opset, do_constant_folding=True, dynamo=False,
            )
        onnx.checker.check_model(str(target))
    except Exception as exc:  # exporter and checker raise many types; all mean "this model did not export"
        raise ExportError(f"ONNX export failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from exc
    finally:
        wrapper.eval()  # the TorchScript exporter leaves the module in training mode
    return target
