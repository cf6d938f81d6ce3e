"""Compare ONNX Runtime outputs with PyTorch's: max |diff| per output and argmax agreement."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import ExportError
from ..inference import Outputs


@dataclass(frozen=True)
class Parity:
    """How far one ONNX model's outputs are from PyTorch's on the same texts."""

    n: int
    max_abs_diff: float  # logits
    embedding_max_abs_diff: float
    argmax_agreement: float


def compare(reference: Outputs, candidate: Outputs) -> Parity:
    """Parity of `candidate` against `reference` (same texts, same order)."""
    n = len(reference.logits)
    if candidate.embedding is None or reference.embedding is None:
        raise ExportError("ONNX or PyTorch outputs have no pooled embedding; export needs both logits and embedding")
    if candidate.logits.shape != reference.logits.shape or candidate.embedding.shape != reference.embedding.shape:
        raise ExportError(
            f"ONNX outputs have shapes logits {candidate.logits.shape}, embedding {candidate.embedding.shape}; "
            f"PyTorch gives {reference.logits.shape}, {reference.embedding.shape}"
        )
    return Parity(
        n=n,
        max_abs_diff=float(np.abs(candidate.logits - reference.logits).max(initial=0.0)),
        embedding_max_abs_diff=float(np.abs(candidate.embedding - reference.embedding).max(initial=0.0)),
        argmax_agreement=float((candidate.predictions == reference.predictions).mean()) if n else 1.0,
    )


def check_parity(parity: Parity, *, atol: float, min_agreement: float, what: str = "model.onnx") -> None:
    """Raise one ExportError listing every failed check (logits, embedding, argmax), or return."""
    failures = []
    if not parity.max_abs_diff <= atol:  # `not <=` also catches NaN
        failures.append(f"logits max |onnx - torch| = {parity.max_abs_diff:.3g} > parity_atol {atol:g}")
    if not parity.embedding_max_abs_diff <= atol:
        failures.append(f"embedding max |onnx - torch| = {parity.embedding_max_abs_diff:.3g} > parity_atol {atol:g}")
    if not parity.argmax_agreement >= min_agreement:
        differ = round((1 - parity.argmax_agreement) * parity.n)
        failures.append(
            f"argmax agreement {parity.argmax_agreement:.4f} < min_argmax_agreement {min_agreement:g} "
            f"({differ} of {parity.n} test examples differ)"
        )
    if failures:
        raise ExportError(
            f"{what} does not match PyTorch on {parity.n} test examples: " + "; ".join(failures)
            + ". Nothing was written; check the model or loosen export.parity_atol"
        )
