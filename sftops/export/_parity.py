"""Compare ONNX Runtime outputs with PyTorch's: max |diff| per output and argmax agreement.

For a classifier the argmax is per text; for a token classifier it is the tag at each word's first
sub-token (the one training labels), and the logits compared are every real token's (padding out)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import ExportError
from ..inference import Outputs, TokenOutputs


@dataclass(frozen=True)
class Parity:
    """How far one ONNX model's outputs are from PyTorch's on the same texts."""

    n: int
    max_abs_diff: float  # logits
    embedding_max_abs_diff: float
    argmax_agreement: float  # per text, or per word (tag agreement) when `words` is set
    words: int | None = None  # words compared for a token classifier


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


def compare_tokens(reference: TokenOutputs, candidate: TokenOutputs) -> Parity:
    """Parity of a token classifier's `candidate` against `reference` (same sentences, same encoding)."""
    if candidate.embedding is None or reference.embedding is None:
        raise ExportError("ONNX or PyTorch outputs have no pooled embedding; export needs both logits and embedding")
    ref_shapes = [r.shape for r in reference.logits]
    if [c.shape for c in candidate.logits] != ref_shapes or candidate.embedding.shape != reference.embedding.shape:
        raise ExportError("ONNX and PyTorch token logits or embeddings differ in shape; re-run `sftops export`")
    n = len(reference.logits)
    firsts = [_word_firsts(e.word_ids) for e in reference.encoded.encodings]
    if n:
        diff = max(float(np.abs(c - r).max(initial=0.0)) for c, r in zip(candidate.logits, reference.logits))
        agree = np.concatenate([c[f].argmax(axis=-1) == r[f].argmax(axis=-1)
                                for c, r, f in zip(candidate.logits, reference.logits, firsts)])
    else:
        diff, agree = 0.0, np.array([], dtype=bool)
    return Parity(
        n=n,
        max_abs_diff=diff,
        embedding_max_abs_diff=float(np.abs(candidate.embedding - reference.embedding).max(initial=0.0)),
        argmax_agreement=float(agree.mean()) if agree.size else 1.0,
        words=int(agree.size),
    )


def _word_firsts(word_ids: list[int | None]) -> list[int]:
    """Positions of each word's first sub-token."""
    return [i for i, w in enumerate(word_ids) if w is not None and (i == 0 or word_ids[i - 1] != w)]


def check_parity(parity: Parity, *, atol: float, min_agreement: float, what: str = "model.onnx") -> None:
    """Raise one ExportError listing every failed check (logits, embedding, argmax), or return."""
    failures = []
    if not parity.max_abs_diff <= atol:  # `not <=` also catches NaN
        failures.append(f"logits max |onnx - torch| = {parity.max_abs_diff:.3g} > parity_atol {atol:g}")
    if not parity.embedding_max_abs_diff <= atol:
        failures.append(f"embedding max |onnx - torch| = {parity.embedding_max_abs_diff:.3g} > parity_atol {atol:g}")
    if not parity.argmax_agreement >= min_agreement:
        what_agrees, units, count = ("argmax", "test examples", parity.n) if parity.words is None else (
            "tag", "words of the test sentences", parity.words)
        differ = round((1 - parity.argmax_agreement) * count)
        failures.append(
            f"{what_agrees} agreement {parity.argmax_agreement:.4f} < min_argmax_agreement {min_agreement:g} "
            f"({differ} of {count} {units} differ)"
        )
    if failures:
        raise ExportError(
            f"{what} does not match PyTorch on {parity.n} test examples: " + "; ".join(failures)
            + ". Nothing was written; check the model or loosen export.parity_atol"
        )
