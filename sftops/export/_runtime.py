"""Run export's models over texts: every ONNX variant through `sftops.inference` (as a server runs it), and the
PyTorch wrapper fed the very same padded batches, so parity compares like with like."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..exceptions import ExportError, InferenceError
from ..inference import (
    Aggregation,
    BundleTokenizer,
    ClassifierRuntime,
    Encoded,
    Outputs,
    TaggerRuntime,
    TokenOutputs,
    make_session,
)


@contextmanager
def export_errors() -> Iterator[None]:
    """Re-raise an InferenceError (a variant that cannot load or run) as an ExportError with the same message."""
    try:
        yield
    except InferenceError as exc:
        raise ExportError(str(exc)) from None


def bundle_tokenizer(folder: Path, max_length: int) -> BundleTokenizer:
    """The tokenizer a server will load from the bundle folder being written (its tokenizer.json is saved first)."""
    with export_errors():
        return BundleTokenizer.from_folder(folder, max_length)


def variant_runtime(path: Path, tokenizer: BundleTokenizer, labels: Sequence[str], name: str) -> ClassifierRuntime:
    """The inference runtime of one exported ONNX classifier on CPU; an unloadable file is an ExportError."""
    with export_errors():
        return ClassifierRuntime(make_session(path, "cpu"), tokenizer, labels, variant=name)


def tagger_runtime(
    path: Path, tokenizer: BundleTokenizer, labels: Sequence[str], name: str, aggregation: Aggregation = "first"
) -> TaggerRuntime:
    """The inference runtime of one exported ONNX token classifier on CPU; an unloadable file is an ExportError."""
    with export_errors():
        return TaggerRuntime(make_session(path, "cpu"), tokenizer, labels, variant=name, aggregation=aggregation)


def onnx_outputs(runtime: ClassifierRuntime, texts: Sequence[str], batch_size: int) -> Outputs:
    """`runtime.run` with failures as ExportError; seconds count model calls only."""
    with export_errors():
        outputs = runtime.run(texts, batch_size)
    if outputs.embedding is None:
        raise ExportError(f"{runtime.variant}: the ONNX model has no 'embedding' output; re-run `sftops export`")
    return outputs


def tagger_outputs(runtime: TaggerRuntime, sentences: Sequence[Sequence[str]], batch_size: int) -> TokenOutputs:
    """`runtime.run_words` with failures as ExportError; seconds count model calls only."""
    with export_errors():
        outputs = runtime.run_words(sentences, batch_size)
    if outputs.embedding is None:
        raise ExportError(f"{runtime.variant}: the ONNX model has no 'embedding' output; re-run `sftops export`")
    return outputs


def _torch_batches(
    wrapper, tokenizer: BundleTokenizer, encoded: Encoded, batch_size: int
) -> Iterator[tuple[list[int], np.ndarray, np.ndarray, float]]:
    """The PyTorch wrapper on the padded batches the ONNX runtime builds: (rows, logits, pooled, seconds) per batch."""
    import torch

    with export_errors():
        batches = list(tokenizer.feeds(encoded, wrapper.input_names, batch_size))
    for rows, feed in batches:
        t0 = time.perf_counter()
        with torch.inference_mode():
            out_logits, out_pooled = wrapper(*(torch.from_numpy(feed[name]) for name in wrapper.input_names))
        seconds = time.perf_counter() - t0
        yield rows, out_logits.float().numpy(), out_pooled.float().numpy(), seconds


def torch_token_outputs(
    wrapper, tokenizer: BundleTokenizer, sentences: Sequence[Sequence[str]], batch_size: int
) -> TokenOutputs:
    """The PyTorch token-classifier wrapper on the same padded batches `TaggerRuntime.run_words` builds."""
    encoded = tokenizer.encode_words(sentences)
    lengths = encoded.n_tokens.tolist()
    logits: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * len(lengths)
    pooled: np.ndarray | None = None
    seconds = 0.0
    for rows, batch_logits, batch_pooled, spent in _torch_batches(wrapper, tokenizer, encoded, batch_size):
        seconds += spent
        if batch_logits.ndim != 3:
            raise ExportError(f"the PyTorch model answers logits of shape {batch_logits.shape}, not per token; "
                              "is models/model a sequence classifier? Rerun `sftops train` with task token_classification")
        for row, i in enumerate(rows):
            logits[i] = batch_logits[row, : lengths[i]]
        if pooled is None:
            pooled = np.empty((len(lengths), batch_pooled.shape[-1]), dtype=np.float32)
        pooled[rows] = batch_pooled
    if pooled is None:
        raise ExportError("no sentences to run the PyTorch model on")
    return TokenOutputs(logits, pooled, seconds, encoded)


def torch_outputs(wrapper, tokenizer: BundleTokenizer, texts: Sequence[str], batch_size: int) -> Outputs:
    """The PyTorch wrapper (see `with_embedding`) on the same padded batches the ONNX runtime builds for `texts`."""
    encoded = tokenizer.encode(texts)
    logits: np.ndarray | None = None
    pooled: np.ndarray | None = None
    seconds = 0.0
    for rows, batch_logits, batch_pooled, spent in _torch_batches(wrapper, tokenizer, encoded, batch_size):
        seconds += spent
        if logits is None or pooled is None:
            logits = np.empty((len(texts), batch_logits.shape[-1]), dtype=np.float32)
            pooled = np.empty((len(texts), batch_pooled.shape[-1]), dtype=np.float32)
        logits[rows] = batch_logits
        pooled[rows] = batch_pooled
    if logits is None or pooled is None:
        raise ExportError("no texts to run the PyTorch model on")
    return Outputs(logits, pooled, seconds, encoded.n_tokens, encoded.truncated, encoded.n_unknown)
