"""Score a serving bundle on labelled texts: the one code path the gate uses for both models.

Predictions come from `sftops.inference.load_runtime`, the runtime a server runs: it picks the variant a
server would serve (`sftops.bundle.serving_device` and `serving_variants`: int8 on CPU when published,
fp16 on CUDA), tokenises and pads as the server does. The score also counts the texts the bundle's
model trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bundle import BundleManifest, Device, RequestedDevice
from ..exceptions import InferenceError, RegistryError


@dataclass(frozen=True)
class BundleScore:
    """Test-split metrics of one bundle, computed here rather than read from stored numbers."""

    accuracy: float
    macro_f1: float
    n: int
    variant: str = "fp32"
    device: str = "cpu"
    train_overlap: int | None = None  # texts scored that the model trained on; None: the bundle does not say

    def metric(self, name: str) -> float:
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1}[name]


def predict_bundle(
    folder: str | Path, texts: Sequence[str], batch_size: int = 64, device: RequestedDevice = "cpu", variant: str | None = None
) -> tuple[BundleManifest, np.ndarray, str, Device]:
    """Argmax class ids for `texts` from the variant a server with serve.device=`device`, serve.variant=`variant` serves.

    Returns the manifest, the predictions, and which variant on which device produced them. Raises
    RegistryError when the bundle cannot be loaded or run.
    """
    from ..inference import ClassifierRuntime, load_runtime  # onnxruntime loads only when a bundle is scored

    folder = Path(folder)
    manifest = BundleManifest.load(folder)
    try:
        runtime = load_runtime(folder, device, variant)
        if not isinstance(runtime, ClassifierRuntime):
            raise RegistryError(f"{folder}: a {manifest.task} bundle has no class predictions; score it by its word tags")
        preds = runtime.run(texts, batch_size).predictions
    except InferenceError as exc:
        raise RegistryError(str(exc)) from None
    return manifest, preds, runtime.variant, runtime.device


def score_bundle(
    folder: str | Path, texts: Sequence[str], label_names: Sequence[str], batch_size: int = 64,
    device: RequestedDevice = "cpu", variant: str | None = None,
) -> BundleScore:
    """Accuracy and macro-F1 of the variant a server would serve, on labelled texts (labels matched by name).

    Also counts how many of `texts` the bundle's model trained on (its train_keys.txt), None if it has no keys.
    Raises RegistryError when the bundle cannot be scored.
    """
    from sklearn.metrics import accuracy_score, f1_score

    from ..data.keys import text_key

    manifest, preds, chosen, used_device = predict_bundle(folder, texts, batch_size, device, variant)
    keys = manifest.train_keys(folder)
    overlap = None if keys is None else sum(1 for t in texts if text_key(t) in keys)
    unknown = sorted(set(label_names) - set(manifest.labels))
    if unknown:
        raise RegistryError(f"{folder}: the test split has labels {unknown} the model does not know {manifest.labels}")
    index = {name: i for i, name in enumerate(manifest.labels)}
    truth = np.array([index[name] for name in label_names], dtype=np.int64)
    labels = list(range(len(manifest.labels)))
    return BundleScore(
        accuracy=float(accuracy_score(truth, preds)),
        macro_f1=float(f1_score(truth, preds, labels=labels, average="macro", zero_division=0)),
        n=len(truth),
        variant=chosen,
        device=used_device,
        train_overlap=overlap,
    )
