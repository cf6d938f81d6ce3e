"""The one ONNX inference runtime: bundle in; probabilities, logits, pooled embeddings and token counts out.

`ClassifierRuntime` receives a ready session and `BundleTokenizer` (so tests hand it a tiny exact
model); `load_runtime` builds both from a serving bundle, picking the variant and execution
provider a server picks for the device: CUDA (with IO binding) when a GPU really works, CPU
otherwise. The server, the promotion gate, export's variant evaluation and the drift reference
all run models through it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..bundle import BundleManifest, Device, RequestedDevice, serving_device
from ..exceptions import InferenceError
from ._math import softmax
from ._session import CUDA, make_session
from ._tokens import FED_INPUTS, BundleTokenizer, Encoded

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class Outputs:
    """A model's answers for N texts in input order: logits (N, K), pooled embeddings (N, H) or None, and
    the seconds spent in model calls; from the runtime also the per-text token counts."""

    logits: np.ndarray
    embedding: np.ndarray | None
    seconds: float = 0.0
    n_tokens: np.ndarray | None = None
    truncated: np.ndarray | None = None
    n_unknown: np.ndarray | None = None

    @property
    def predictions(self) -> np.ndarray:
        """Argmax class id per text."""
        return self.logits.argmax(axis=1)

    @property
    def probabilities(self) -> np.ndarray:
        """Softmax of the logits, (N, K)."""
        return softmax(self.logits)


class ClassifierRuntime:
    """A sequence classifier behind an ONNX Runtime session; thread-compatible, one batch at a time."""

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

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts before truncation (for rejecting over-long texts)."""
        return self.tokenizer.count_tokens(texts)

    def run(self, texts: Sequence[str], batch_size: int | None = None) -> Outputs:
        """Logits and embeddings of `texts` in input order, run in length buckets (chunks of at most `batch_size`)."""
        return self._run_encoded(self.tokenizer.encode(texts), batch_size)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify texts (one server batch): `run`, softmax, one Prediction per text; order preserved."""
        if not texts:
            return []
        encoded = self.tokenizer.encode(texts)
        out = self._run_encoded(encoded, None)
        probs = out.probabilities
        best = probs.argmax(axis=1).tolist()
        n_tokens, truncated, n_unknown = encoded.n_tokens.tolist(), encoded.truncated.tolist(), encoded.n_unknown.tolist()
        return [
            Prediction(
                label=self.labels[b],
                score=float(row[b]),
                probabilities=dict(zip(self.labels, row)),
                truncated=truncated[i],
                embedding=None if out.embedding is None else out.embedding[i],
                n_tokens=n_tokens[i],
                n_unknown=n_unknown[i],
            )
            for i, (b, row) in enumerate(zip(best, probs.tolist()))
        ]

    def _run_encoded(self, encoded: Encoded, batch_size: int | None) -> Outputs:
        """`run` for texts already encoded: outputs gathered back into input order."""
        n = len(encoded.encodings)
        logits = np.empty((n, len(self.labels)), dtype=np.float32)
        embedding: np.ndarray | None = None
        seconds = 0.0
        for rows, outputs, spent in self._batches(encoded, batch_size):
            seconds += spent
            logits[rows] = outputs["logits"]
            pooled = outputs.get("embedding")
            if pooled is not None:
                if embedding is None:
                    embedding = np.empty((n, pooled.shape[-1]), dtype=np.float32)
                embedding[rows] = pooled
        return Outputs(logits, embedding, seconds, encoded.n_tokens, encoded.truncated, encoded.n_unknown)

    def warmup(self) -> None:
        """Run fixed texts once, so the first request pays no graph setup, and check the answers are sane.

        One logit per label and every output finite, else an InferenceError: a version failing here is never swapped in.
        """
        for _, outputs, _ in self._batches(self.tokenizer.encode(_WARMUP_TEXTS), None):
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
            if shape != (len(rows), len(self.labels)):
                raise InferenceError(
                    f"the model answered logits of shape {shape} for {len(rows)} texts, but the label map has "
                    f"{len(self.labels)} labels; re-export the bundle"
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


def load_runtime(
    bundle_dir: str | Path, device: RequestedDevice = "auto", variant: str | None = None, intra_op_threads: int = 0
) -> ClassifierRuntime:
    """The runtime a server with serve.device=`device`, serve.variant=`variant` runs for a bundle.

    The first of `manifest.serving_variants` on `sftops.bundle.serving_device(device)`; on `auto`, a CUDA
    session that does not start falls back to the CPU choice. `runtime.variant` and `runtime.device` say
    what was chosen. Raises RegistryError when `bundle_dir` is not a complete bundle (`BundleManifest.load`),
    InferenceError when its model or tokenizer cannot be loaded or `variant` is not published.
    """
    bundle_dir = Path(bundle_dir)
    manifest = BundleManifest.load(bundle_dir)
    wanted: Device = serving_device(device)
    runtime = _try_device(bundle_dir, manifest, wanted, variant, intra_op_threads)
    if runtime is None and device == "auto" and wanted == "cuda":
        log.warning("%s: CUDA is listed but did not start; using the CPU variant, as a server would", bundle_dir)
        runtime = _try_device(bundle_dir, manifest, "cpu", variant, intra_op_threads)
    if runtime is None:
        raise InferenceError(f"{bundle_dir}: no usable model variant for {wanted} (published: {list(manifest.variants)})")
    log.info("loaded %s variant %s on %s", bundle_dir, runtime.variant, runtime.provider)
    return runtime


def _try_device(
    bundle_dir: Path, manifest: BundleManifest, device: Device, variant: str | None, threads: int
) -> ClassifierRuntime | None:
    """The runtime of the first serving variant on `device`; None when there is none or CUDA did not start."""
    names = manifest.serving_variants(device, variant)
    if not names:
        return None
    info = manifest.variants.get(names[0])
    if info is None or not info.published:
        raise InferenceError(f"serve.variant={names[0]!r} is not a published variant of {bundle_dir} ({list(manifest.variants)})")
    try:
        session = make_session(bundle_dir / info.file, device, threads)
    except InferenceError as exc:
        if device == "cuda":
            log.warning("%s", exc)
            return None
        raise
    tokenizer = BundleTokenizer.from_folder(bundle_dir, manifest.max_length, manifest.tokenizer_file)
    return ClassifierRuntime(session, tokenizer, manifest.labels, variant=names[0])
