"""ONNX Runtime classifier: tokenize, bucket by length, run, softmax.

`ClassifierRuntime` receives a ready session and tokenizer (so tests hand it a
tiny exact model); `load_runtime` builds both from a serving bundle, picking the
variant and execution provider that suit the device: CUDA (with IO binding) when
a GPU really works, CPU otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from sftops.bundle import BundleManifest, serving_device
from sftops.exceptions import ServingError

log = logging.getLogger(__name__)

Device = Literal["cpu", "cuda"]
_CUDA = "CUDAExecutionProvider"
_CPU = "CPUExecutionProvider"
_WARMUP_TEXTS = ["ok", "this is a short warm-up sentence", "a longer warm-up text " * 12]


@dataclass(frozen=True)
class Prediction:
    """One text's answer: the label, its probability, every class probability, the pooled embedding.

    `n_tokens` (special tokens in, after truncation) and `n_unknown` (unknown-token ids) are
    counted as the bundle's drift reference counts them, for the drift monitor.
    """

    label: str
    score: float
    probabilities: dict[str, float]
    truncated: bool
    embedding: np.ndarray | None = None
    n_tokens: int = 0
    n_unknown: int = 0


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def plan_buckets(lengths: Sequence[int], split_tokens: int = 32, min_bucket: int = 2) -> list[list[int]]:
    """Group indices by token length so little compute goes to padding.

    Sorted by length; a new group starts when the next text would add more than
    `split_tokens` pad tokens to the current group (of at least `min_bucket`): one
    more ONNX Runtime call costs about as much as a few dozen tokens on CPU.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    buckets: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and len(current) >= min_bucket and len(current) * (lengths[i] - lengths[current[-1]]) > split_tokens:
            buckets.append(current)
            current = []
        current.append(i)
    if current:
        buckets.append(current)
    return buckets


class ClassifierRuntime:
    """A sequence classifier behind an ONNX Runtime session; thread-compatible, one batch at a time."""

    def __init__(
        self,
        session: ort.InferenceSession,
        tokenizer: Tokenizer,
        labels: Sequence[str],
        max_length: int,
        *,
        variant: str = "fp32",
    ) -> None:
        self.session = session
        self.labels = list(labels)
        self.max_length = max_length
        self.variant = variant
        self.provider = session.get_providers()[0]
        self.device: Device = "cuda" if self.provider == _CUDA else "cpu"
        self._tokenizer = tokenizer
        tokenizer.no_padding()  # padding is per bucket, below
        tokenizer.enable_truncation(max_length)
        self._counter = Tokenizer.from_str(tokenizer.to_str())
        self._counter.no_truncation()
        pad_id = tokenizer.padding["pad_id"] if tokenizer.padding else None
        self._pad_id = pad_id if pad_id is not None else (tokenizer.token_to_id("[PAD]") or 0)
        unk_token = getattr(tokenizer.model, "unk_token", None)
        self._unk_id = tokenizer.token_to_id(unk_token) if unk_token else None
        self._inputs = {i.name: (np.int32 if "int32" in i.type else np.int64) for i in session.get_inputs()}
        unknown = set(self._inputs) - {"input_ids", "attention_mask", "token_type_ids"}
        if unknown:
            raise ServingError(f"ONNX model wants inputs {sorted(unknown)}; only input_ids, attention_mask, token_type_ids are fed")
        self._outputs = [o.name for o in session.get_outputs()]
        if "logits" not in self._outputs:
            raise ServingError(f"ONNX model has outputs {self._outputs}, expected one named 'logits'")
        logits_dim = session.get_outputs()[self._outputs.index("logits")].shape[-1]
        if isinstance(logits_dim, int) and logits_dim != len(self.labels):
            raise ServingError(f"ONNX model outputs {logits_dim} classes but the label map has {len(self.labels)}")

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts before truncation (for rejecting over-long texts)."""
        return [len(e.ids) for e in self._counter.encode_batch(list(texts))]

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify texts (one batch): tokenize, run each length bucket, softmax; order preserved."""
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        results: list[Prediction | None] = [None] * len(texts)
        for bucket, outputs in self._forward(encodings, lengths):
            probs = softmax(outputs["logits"].astype(np.float32))
            embedding = outputs.get("embedding")
            for row, i in enumerate(bucket):
                best = int(probs[row].argmax())
                results[i] = Prediction(
                    label=self.labels[best],
                    score=float(probs[row, best]),
                    probabilities={name: float(p) for name, p in zip(self.labels, probs[row])},
                    truncated=bool(encodings[i].overflowing),
                    embedding=None if embedding is None else np.asarray(embedding[row], dtype=np.float32),
                    n_tokens=lengths[i],
                    n_unknown=0 if self._unk_id is None else encodings[i].ids.count(self._unk_id),
                )
        return [r for r in results if r is not None]

    def _forward(self, encodings: list, lengths: list[int]) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
        """Run the model on each length bucket: (the bucket's text indices, its outputs); logits checked for shape."""
        for bucket in plan_buckets(lengths):
            width = max(lengths[i] for i in bucket)
            ids = np.full((len(bucket), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(bucket), width), dtype=np.int64)
            types = np.zeros((len(bucket), width), dtype=np.int64)
            for row, i in enumerate(bucket):
                enc = encodings[i]
                ids[row, : lengths[i]] = enc.ids
                mask[row, : lengths[i]] = 1
                types[row, : lengths[i]] = enc.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            outputs = self._run({name: feed[name].astype(dtype, copy=False) for name, dtype in self._inputs.items()})
            shape = tuple(outputs["logits"].shape)
            if shape != (len(bucket), len(self.labels)):
                raise ServingError(
                    f"the model answered logits of shape {shape} for {len(bucket)} texts, but the label map has "
                    f"{len(self.labels)} labels; re-export the bundle"
                )
            yield bucket, outputs

    def _run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.device == "cuda":  # inputs copied once, outputs left on the GPU until read back
            binding = self.session.io_binding()
            for name, array in feed.items():
                binding.bind_cpu_input(name, array)
            for name in self._outputs:
                binding.bind_output(name, "cuda")
            self.session.run_with_iobinding(binding)
            return dict(zip(self._outputs, binding.copy_outputs_to_cpu()))
        return dict(zip(self._outputs, self.session.run(self._outputs, feed)))

    def warmup(self) -> None:
        """Run fixed texts once, so the first request pays no graph setup, and check the answers are sane.

        One logit per label and every output finite, else a ServingError: a version failing here is never swapped in.
        """
        encodings = self._tokenizer.encode_batch(_WARMUP_TEXTS)
        for _, outputs in self._forward(encodings, [len(e.ids) for e in encodings]):
            for name, array in outputs.items():
                if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
                    raise ServingError(f"warm-up: the model's {name!r} output is not finite (NaN or inf); re-export the bundle")


def make_session(path: str | Path, device: Device, intra_op_threads: int = 0) -> ort.InferenceSession:
    """An InferenceSession on `device`; a CUDA session that silently fell back to CPU is reported."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if intra_op_threads:
        options.intra_op_num_threads = intra_op_threads
    # ORT's pool threads busy-wait between runs by default; in a server that steals the cores
    # the event loop needs to parse requests and serialise answers (measured in bench/serve_load.py)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = [_CUDA, _CPU] if device == "cuda" else [_CPU]
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # ORT raises its own RuntimeError subclasses for bad files and provider failures
        raise ServingError(f"{path}: ONNX Runtime cannot load the model ({exc}); re-export it") from None
    if device == "cuda" and session.get_providers()[0] != _CUDA:
        raise ServingError(f"{path}: CUDA execution provider did not start; serve with device=cpu")
    return session


def load_runtime(
    bundle_dir: str | Path, device: Literal["auto", "cpu", "cuda"] = "auto", variant: str | None = None,
    intra_op_threads: int = 0,
) -> ClassifierRuntime:
    """Build the runtime of a serving bundle: the best published variant for the device (or `variant`)."""
    bundle_dir = Path(bundle_dir)
    manifest = BundleManifest.load(bundle_dir)
    wanted: Device = serving_device(device)  # the same choice the promotion gate makes
    runtime = _try_device(bundle_dir, manifest, wanted, variant, intra_op_threads)
    if runtime is None and device == "auto" and wanted == "cuda":
        log.warning("CUDA is listed but did not start; serving on CPU")
        runtime = _try_device(bundle_dir, manifest, "cpu", variant, intra_op_threads)
    if runtime is None:
        raise ServingError(f"{bundle_dir}: no usable model variant for {wanted} (published: {list(manifest.variants)})")
    log.info("serving %s variant %s on %s", bundle_dir, runtime.variant, runtime.provider)
    return runtime


def _try_device(
    bundle_dir: Path, manifest: BundleManifest, device: Device, variant: str | None, threads: int
) -> ClassifierRuntime | None:
    names = manifest.serving_variants(device, variant)
    for name in names:
        info = manifest.variants.get(name)
        if info is None or not info.published:
            raise ServingError(f"serve.variant={name!r} is not a published variant of {bundle_dir} ({list(manifest.variants)})")
        try:
            session = make_session(bundle_dir / info.file, device, threads)
        except ServingError as exc:
            if device == "cuda":
                log.warning("%s", exc)
                return None
            raise
        try:
            tokenizer = Tokenizer.from_file(str(bundle_dir / manifest.tokenizer_file))
        except Exception as exc:  # the tokenizers library raises plain Exception for unreadable or malformed files
            raise ServingError(f"{bundle_dir / manifest.tokenizer_file}: cannot load the tokenizer ({exc}); re-export the bundle") from None
        return ClassifierRuntime(session, tokenizer, manifest.labels, manifest.max_length, variant=name)
    return None
