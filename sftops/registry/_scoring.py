"""Score a serving bundle on labelled test data: the one code path the gate uses for both models.

Predictions come from `sftops.inference.load_runtime`, the runtime a server runs: it picks the variant a
server would serve (`sftops.bundle.serving_device` and `serving_variants`: int8 on CPU when published,
fp16 on CUDA), tokenises and pads as the server does. A classifier is scored by accuracy and macro-F1
on the test texts; a token classifier by entity F1 (seqeval, strict IOB2) and token accuracy on the
test sentences' words, tagged with the server's word aggregation. The score also counts the texts the
bundle's model trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..bundle import BundleManifest, Device, RequestedDevice
from ..exceptions import InferenceError, RegistryError

if TYPE_CHECKING:
    from ..inference import Aggregation, Runtime


@dataclass(frozen=True)
class BundleScore:
    """Test-split metrics of one bundle, computed here rather than read from stored numbers.

    `metrics`: accuracy and macro_f1 for a classifier; entity_f1, entity_precision, entity_recall and
    token_accuracy for a token classifier."""

    metrics: dict[str, float]
    n: int
    variant: str = "fp32"
    device: str = "cpu"
    train_overlap: int | None = None  # texts scored that the model trained on; None: the bundle does not say
    task: str = field(default="classification")

    def metric(self, name: str) -> float:
        """One metric by name; a RegistryError when this task's score has no such metric."""
        if name not in self.metrics:
            raise RegistryError(
                f"a {self.task} model is scored by {sorted(self.metrics)}, not {name!r}; set registry.primary_metric to one of them"
            )
        return self.metrics[name]


@dataclass(frozen=True)
class TestSplit:
    """Today's labelled test data and the DVC hash of the data it came from.

    Classification: `texts` and their class names in `labels`. Token classification: `texts` (the words
    joined by spaces, for the overlap count), each text's `tokens` (words) and gold IOB2 `tags`."""

    __test__ = False  # not a pytest test class, despite the name

    texts: Sequence[str]
    labels: Sequence[str]
    data_hash: str | None = None
    tokens: Sequence[Sequence[str]] | None = None
    tags: Sequence[Sequence[str]] | None = None

    @property
    def task(self) -> str:
        return "classification" if self.tags is None else "token_classification"


def _load(folder: Path, device: RequestedDevice, variant: str | None, aggregation: Aggregation) -> Runtime:
    from ..inference import load_runtime  # onnxruntime loads only when a bundle is scored

    try:
        return load_runtime(folder, device, variant, aggregation=aggregation)
    except InferenceError as exc:
        raise RegistryError(str(exc)) from None


def predict_bundle(
    folder: str | Path, texts: Sequence[str], batch_size: int = 64, device: RequestedDevice = "cpu", variant: str | None = None
) -> tuple[BundleManifest, np.ndarray, str, Device]:
    """Argmax class ids for `texts` from the variant a server with serve.device=`device`, serve.variant=`variant` serves.

    Returns the manifest, the predictions, and which variant on which device produced them. Raises
    RegistryError when the bundle cannot be loaded or run, or is not a classifier.
    """
    from ..inference import ClassifierRuntime

    folder = Path(folder)
    manifest = BundleManifest.load(folder)
    runtime = _load(folder, device, variant, "first")
    if not isinstance(runtime, ClassifierRuntime):
        raise RegistryError(f"{folder}: a {manifest.task} model cannot be scored on classification labels; "
                            "params.task and the model differ: re-run the pipeline")
    try:
        preds = runtime.run(texts, batch_size).predictions
    except InferenceError as exc:
        raise RegistryError(str(exc)) from None
    return manifest, preds, runtime.variant, runtime.device


def _overlap(folder: Path, manifest: BundleManifest, texts: Sequence[str]) -> int | None:
    from ..data.keys import text_key

    keys = manifest.train_keys(folder)
    return None if keys is None else sum(1 for t in texts if text_key(t) in keys)


def score_bundle(
    folder: str | Path, texts: Sequence[str], label_names: Sequence[str], batch_size: int = 64,
    device: RequestedDevice = "cpu", variant: str | None = None,
) -> BundleScore:
    """Accuracy and macro-F1 of the variant a server would serve, on labelled texts (labels matched by name).

    Also counts how many of `texts` the bundle's model trained on (its train_keys.txt), None if it has no keys.
    Raises RegistryError when the bundle cannot be scored.
    """
    from sklearn.metrics import accuracy_score, f1_score

    folder = Path(folder)
    manifest, preds, chosen, used_device = predict_bundle(folder, texts, batch_size, device, variant)
    unknown = sorted(set(label_names) - set(manifest.labels))
    if unknown:
        raise RegistryError(f"{folder}: the test split has labels {unknown} the model does not know {manifest.labels}")
    index = {name: i for i, name in enumerate(manifest.labels)}
    truth = np.array([index[name] for name in label_names], dtype=np.int64)
    labels = list(range(len(manifest.labels)))
    return BundleScore(
        metrics={
            "accuracy": float(accuracy_score(truth, preds)),
            "macro_f1": float(f1_score(truth, preds, labels=labels, average="macro", zero_division=0)),
        },
        n=len(truth),
        variant=chosen,
        device=used_device,
        train_overlap=_overlap(folder, manifest, texts),
    )


def score_tagger_bundle(
    folder: str | Path, test: TestSplit, batch_size: int = 64, device: RequestedDevice = "cpu", variant: str | None = None,
    aggregation: Aggregation = "first",
) -> BundleScore:
    """Entity F1 / precision / recall and token accuracy of the variant a server would serve, on the test sentences.

    Words are tagged by `TaggerRuntime.tag_words` (serve.aggregation = `aggregation`), scored by
    `sftops.entity_metrics`. Raises RegistryError when the bundle cannot be scored on them.
    """
    from ..entity_metrics import entity_metrics
    from ..inference import TaggerRuntime

    folder = Path(folder)
    manifest = BundleManifest.load(folder)
    if test.tokens is None or test.tags is None:
        raise RegistryError("a token-classification test split needs each text's tokens and tags")
    runtime = _load(folder, device, variant, aggregation)
    if not isinstance(runtime, TaggerRuntime):
        raise RegistryError(f"{folder}: a {manifest.task} model cannot be scored on tagged sentences; "
                            "params.task and the model differ: re-run the pipeline")
    unknown = sorted({t for tags in test.tags for t in tags} - set(manifest.labels))
    if unknown:
        raise RegistryError(f"{folder}: the test split has tags {unknown} the model does not know {manifest.labels}")
    try:
        predicted = runtime.tag_words(test.tokens, batch_size)
    except InferenceError as exc:
        raise RegistryError(str(exc)) from None
    scores = entity_metrics(test.tags, predicted)
    return BundleScore(
        metrics={name: float(scores[name]) for name in ("entity_f1", "entity_precision", "entity_recall", "token_accuracy")},
        n=len(predicted),
        variant=runtime.variant,
        device=runtime.device,
        train_overlap=_overlap(folder, manifest, test.texts),
        task="token_classification",
    )


def variant_agreement(manifest: BundleManifest, variant: str) -> float | None:
    """Export's measured agreement of `variant` with PyTorch (argmax, or tag for a tagger); None when not recorded."""
    info = manifest.variants.get(variant)
    if info is None:
        return None
    return info.argmax_agreement if info.tag_agreement is None else info.tag_agreement


def score_split(
    folder: str | Path, test: TestSplit, batch_size: int = 64, device: RequestedDevice = "cpu", variant: str | None = None,
    aggregation: Aggregation = "first",
) -> BundleScore:
    """The bundle's score on `test` by the test split's task: `score_bundle` or `score_tagger_bundle`."""
    if test.task == "token_classification":
        return score_tagger_bundle(folder, test, batch_size, device, variant, aggregation)
    return score_bundle(folder, test.texts, test.labels, batch_size, device, variant)
