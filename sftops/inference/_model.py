"""What every runtime shares: an ONNX Runtime session with a bundle's tokenizer and tag or class names.

Feeds are built by `BundleTokenizer.feeds` (one pad rule, length buckets); the session runs on CPU or,
with IO binding, on CUDA. `ClassifierRuntime` (one answer per text) and `TaggerRuntime` (one answer
per token) differ only in the logits' shape and in what they make of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np
import onnxruntime as ort

from ..bundle import Device
from ..exceptions import InferenceError
from ._session import CUDA
from ._tokens import FED_INPUTS, BundleTokenizer, Encoded

WARMUP_TEXTS = ["ok", "this is a short warm-up sentence", "a longer warm-up text " * 12]


class OnnxModel:
    """An ONNX model with outputs `logits` (last axis: one per label) and optionally `embedding`; one batch at a time."""

    def __init__(
        self, session: ort.InferenceSession, tokenizer: BundleTokenizer, labels: Sequence[str], *, variant: str = "fp32"
    ) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.max_length = tokenizer.max_length
        self.variant = variant
        self.provider: str = session.get_providers()[0]
        self.device: Device = "cuda" if self.provider == CUDA else "cpu"
        self._inputs = {i.name: (np.int32 if "int32" in i.type else np.int64) for i in session.get_inputs()}
        unknown = set(self._inputs) - set(FED_INPUTS)
        if unknown:
            raise InferenceError(f"ONNX model wants inputs {sorted(unknown)}; only input_ids, attention_mask, token_type_ids are fed")
        self._outputs = [o.name for o in session.get_outputs()]
        if "logits" not in self._outputs:
            raise InferenceError(f"ONNX model has outputs {self._outputs}, expected one named 'logits'")
        logits_dim = session.get_outputs()[self._outputs.index("logits")].shape[-1]
        if isinstance(logits_dim, int) and logits_dim != len(self.labels):
            raise InferenceError(f"ONNX model outputs {logits_dim} classes but the label map has {len(self.labels)}")

    def _encode_for_warmup(self, texts: Sequence[str]) -> Encoded:
        """How this runtime encodes texts; the warm-up runs through it."""
        return self.tokenizer.encode(texts)

    def _logits_shape(self, rows: int, width: int) -> tuple[int, ...]:
        """The logits shape a batch of `rows` texts padded to `width` tokens must have."""
        return (rows, len(self.labels))

    def warmup(self) -> None:
        """Run fixed texts once, so the first request pays no graph setup, and check the answers are sane.

        One logit per label and every output finite, else an InferenceError: a version failing here is never swapped in.
        """
        for _, outputs, _ in self._batches(self._encode_for_warmup(WARMUP_TEXTS), None):
            for name, array in outputs.items():
                if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
                    raise InferenceError(f"warm-up: the model's {name!r} output is not finite (NaN or inf); re-export the bundle")

    def _batches(self, encoded: Encoded, batch_size: int | None) -> Iterator[tuple[list[int], dict[str, np.ndarray], float]]:
        """Run the model per planned batch: (its text indices, its outputs, seconds in the model); logits checked for shape."""
        for rows, feed in self.tokenizer.feeds(encoded, list(self._inputs), batch_size):
            t0 = time.perf_counter()
            outputs = self._run({name: feed[name].astype(dtype, copy=False) for name, dtype in self._inputs.items()})
            spent = time.perf_counter() - t0
            shape = tuple(outputs["logits"].shape)
            want = self._logits_shape(len(rows), feed["input_ids"].shape[1])
            if shape != want:
                raise InferenceError(
                    f"the model answered logits of shape {shape} for {len(rows)} texts, but the label map has "
                    f"{len(self.labels)} labels (expected {want}); re-export the bundle"
                )
            yield rows, outputs, spent

    def _run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            if self.device == "cuda":  # inputs copied once, outputs left on the GPU until read back
                binding = self.session.io_binding()
                for name, array in feed.items():
                    binding.bind_cpu_input(name, array)
                for name in self._outputs:
                    binding.bind_output(name, "cuda")
                self.session.run_with_iobinding(binding)
                return dict(zip(self._outputs, binding.copy_outputs_to_cpu()))
            return dict(zip(self._outputs, self.session.run(self._outputs, feed)))
        except Exception as exc:  # ORT raises its own pybind error types for a graph that cannot run this batch
            shape = feed["input_ids"].shape if "input_ids" in feed else None
            raise InferenceError(
                f"{self.variant}: ONNX Runtime failed on a batch of shape {shape} ({str(exc).strip()[:300]}); re-export the bundle"
            ) from None
