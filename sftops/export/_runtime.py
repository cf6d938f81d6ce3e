"""Run a model over texts in length-sorted batches: one ONNX Runtime session, or the PyTorch wrapper."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import ExportError


@dataclass(frozen=True)
class Outputs:
    """Logits (N, K) and pooled embeddings (N, H) in input order, plus the forward time spent."""

    logits: np.ndarray
    embedding: np.ndarray
    seconds: float

    @property
    def predictions(self) -> np.ndarray:
        return self.logits.argmax(axis=1)


def ort_session(path: str | Path, providers: Sequence[str] = ("CPUExecutionProvider",), threads: int | None = None):
    """An ONNX Runtime session for `path`; an unreadable or invalid file is an ExportError."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=list(providers))
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/NoSuchFile types
        raise ExportError(f"{path}: ONNX Runtime cannot load this model ({str(exc).strip()[:300]}); re-run `sftops export`") from None


def run_batches(
    forward: Callable[[dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]],
    tokenizer,
    texts: Sequence[str],
    input_names: Sequence[str],
    *,
    max_length: int,
    batch_size: int = 64,
) -> Outputs:
    """Tokenize, sort by length, pad each batch to its own longest text, and call `forward` per batch."""
    encoded = tokenizer([str(t) for t in texts], truncation=True, max_length=max_length)
    order = np.argsort([len(ids) for ids in encoded["input_ids"]], kind="stable")
    logits: list[np.ndarray] = []
    pooled: list[np.ndarray] = []
    seconds = 0.0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = tokenizer.pad([{name: encoded[name][i] for name in input_names} for i in idx], return_tensors="np")
        feed = {name: batch[name].astype(np.int64) for name in input_names}
        t0 = time.perf_counter()
        out_logits, out_pooled = forward(feed)
        seconds += time.perf_counter() - t0
        logits.append(np.asarray(out_logits, dtype=np.float32))
        pooled.append(np.asarray(out_pooled, dtype=np.float32))
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return Outputs(np.concatenate(logits)[inverse], np.concatenate(pooled)[inverse], seconds)


def ort_forward(session) -> Callable[[dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """A batch function over an ORT session (outputs logits, embedding)."""

    def forward(feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        try:
            logits, pooled = session.run(["logits", "embedding"], feed)
        except Exception as exc:
            raise ExportError(f"ONNX Runtime failed on a batch of shape {feed['input_ids'].shape} ({str(exc).strip()[:300]})") from None
        return logits, pooled

    return forward


def torch_forward(wrapper) -> Callable[[dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """A batch function over the PyTorch wrapper (see `with_embedding`)."""
    import torch

    def forward(feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            logits, pooled = wrapper(*(torch.from_numpy(feed[name]) for name in wrapper.input_names))
        return logits.float().numpy(), pooled.float().numpy()

    return forward
