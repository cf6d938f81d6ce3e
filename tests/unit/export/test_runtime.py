"""An exported tiny-BERT bundle: export's variant evaluation, its drift reference, the server and the gate
(all through sftops.inference) give identical outputs for the same texts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sftops.config import ExportConfig
from sftops.data.prepared import PreparedData
from sftops.drift.reference import DriftReference
from sftops.export import ExportReport, export_bundle, onnx_outputs, variant_runtime
from sftops.inference import BundleTokenizer, load_runtime
from sftops.testing import prepared_from_frames

MAX_LENGTH = 24
TEXTS = [
    "ok",
    "a short one",
    "the service was fine but the food was cold and the waiter forgot us twice " * 2,  # truncated
    "hello \U0001f600 world \u2603\u2603",  # unknown tokens
    "great",
    "I would not come back here, not even if they paid me",
    "\U0001f525\U0001f525\U0001f525 fire",
    "meh",
]


@pytest.fixture(scope="module")
def exported(tiny_classifier_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ExportReport]:
    """Export with int8 published (so CPU serves int8); the validation split (the drift sample) is TEXTS."""
    data = prepared_from_frames()
    validation = pd.DataFrame({"text": TEXTS, "label": [i % 3 for i in range(len(TEXTS))]})
    validation["label_name"] = [data.label_map.names[i] for i in validation["label"]]
    data = PreparedData(data.train, validation, data.test, data.label_map, {})
    cfg = ExportConfig(variants=["int8"], drift_samples=100, require_speedup=False, max_f1_drop=1.0, min_agreement=0.0)
    target = tmp_path_factory.mktemp("served") / "onnx"
    return target, export_bundle(tiny_classifier_dir, data, cfg, max_length=MAX_LENGTH, target=target)


def _server(bundle: Path, variant: str | None = None):
    from sftops_serving.model_store import ModelStore

    store = ModelStore.from_folder(bundle, device="cpu", variant=variant)
    store.load_initial()
    return store.current.runtime


def test_server_gate_export_and_drift_reference_agree_exactly(exported) -> None:
    from sftops.registry import predict_bundle

    bundle, report = exported
    assert report.manifest.published("cpu") == ["int8", "fp32"]
    served = {name: _server(bundle, name).predict(TEXTS) for name in ("int8", "fp32")}
    assert _server(bundle).variant == "int8"  # what a CPU server picks
    probs = {name: np.array([list(p.probabilities.values()) for p in ps]) for name, ps in served.items()}
    embeddings = {name: np.stack([p.embedding for p in ps]) for name, ps in served.items()}
    assert [p.truncated for p in served["fp32"]] == [t == TEXTS[2] for t in TEXTS]
    assert served["fp32"][3].n_unknown >= 1

    # the gate scores the variant the server serves, with the same predictions
    _, preds, variant, device = predict_bundle(bundle, TEXTS, batch_size=64, device="cpu")
    assert (variant, device) == ("int8", "cpu")
    assert preds.tolist() == probs["int8"].argmax(axis=1).tolist()

    # export's evaluation of each variant, from the bundle's own tokenizer
    tokenizer = BundleTokenizer.from_folder(bundle, MAX_LENGTH)
    for name in ("fp32", "int8"):
        runtime = variant_runtime(bundle / report.manifest.variants[name].file, tokenizer, report.manifest.labels, name)
        outputs = onnx_outputs(runtime, TEXTS, ExportConfig().batch_size)
        assert np.array_equal(outputs.probabilities.astype(np.float64), probs[name]), name
        assert np.array_equal(outputs.embedding, embeddings[name]), name
        assert np.array_equal(load_runtime(bundle, "cpu", name).run(TEXTS, 64).logits, outputs.logits), name

    # the drift reference export wrote: fp32 confidences and every published variant's embeddings, as served
    reference = DriftReference.load(bundle)
    assert reference.n == len(TEXTS)
    assert reference.confidences == [round(float(p), 5) for p in probs["fp32"].max(axis=1)]
    assert reference.label_counts == np.bincount(probs["fp32"].argmax(axis=1), minlength=3).tolist()
    assert reference.token_lengths == [p.n_tokens for p in served["fp32"]]
    assert reference.unknown_tokens == sum(p.n_unknown for p in served["fp32"])
    for name in ("fp32", "int8"):
        stored = np.load(bundle / reference.embeddings_files[name])
        assert np.array_equal(stored, embeddings[name].astype(np.float16)), name
