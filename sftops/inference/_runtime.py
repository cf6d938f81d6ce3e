"""The one ONNX inference runtime: bundle in; probabilities, logits, pooled embeddings and token counts out.

`ClassifierRuntime` receives a ready session and `BundleTokenizer` (so tests hand it a tiny exact
model); `load_runtime` builds both from a serving bundle, picking the variant and execution
provider a server picks for the device: CUDA (with IO binding) when a GPU really works, CPU
otherwise. The server, the promotion gate, export's variant evaluation and the drift reference
all run models through it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..bundle import BundleManifest, Device, RequestedDevice, serving_device
from ..exceptions import InferenceError
from ._math import softmax
from ._model import OnnxModel
from ._session import make_session
from ._tagger import Aggregation, TaggerRuntime
from ._tokens import BundleTokenizer, Encoded

log = logging.getLogger(__name__)


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


class ClassifierRuntime(OnnxModel):
    """A sequence classifier behind an ONNX Runtime session; thread-compatible, one batch at a time."""

    task: Literal["classification"] = "classification"

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


Runtime = ClassifierRuntime | TaggerRuntime


def load_runtime(
    bundle_dir: str | Path, device: RequestedDevice = "auto", variant: str | None = None, intra_op_threads: int = 0,
    aggregation: Aggregation = "first",
) -> Runtime:
    """The runtime a server with serve.device=`device`, serve.variant=`variant` runs for a bundle.

    A `ClassifierRuntime`, or for a bundle whose manifest says task token_classification a `TaggerRuntime`
    joining sub-token answers into word tags by `aggregation` (serve.aggregation).

    The first of `manifest.serving_variants` on `sftops.bundle.serving_device(device)`; on `auto`, a CUDA
    session that does not start falls back to the CPU choice. `runtime.variant` and `runtime.device` say
    what was chosen. Raises RegistryError when `bundle_dir` is not a complete bundle (`BundleManifest.load`),
    InferenceError when its model or tokenizer cannot be loaded or `variant` is not published.
    """
    bundle_dir = Path(bundle_dir)
    manifest = BundleManifest.load(bundle_dir)
    wanted: Device = serving_device(device)
    runtime = _try_device(bundle_dir, manifest, wanted, variant, intra_op_threads, aggregation)
    if runtime is None and device == "auto" and wanted == "cuda":
        log.warning("%s: CUDA is listed but did not start; using the CPU variant, as a server would", bundle_dir)
        runtime = _try_device(bundle_dir, manifest, "cpu", variant, intra_op_threads, aggregation)
    if runtime is None:
        raise InferenceError(f"{bundle_dir}: no usable model variant for {wanted} (published: {list(manifest.variants)})")
    log.info("loaded %s variant %s on %s", bundle_dir, runtime.variant, runtime.provider)
    return runtime


def _try_device(
    bundle_dir: Path, manifest: BundleManifest, device: Device, variant: str | None, threads: int, aggregation: Aggregation
) -> Runtime | None:
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
    if manifest.task == "token_classification":
        return TaggerRuntime(session, tokenizer, manifest.labels, variant=names[0], aggregation=aggregation)
    return ClassifierRuntime(session, tokenizer, manifest.labels, variant=names[0])
