"""The server's runtime (sftops.inference): exact outputs of a fixed-weight ONNX model, length buckets, variant choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from sftops.bundle import BundleManifest, VariantInfo
from sftops.defaults import builtin_model_dir
from sftops.exceptions import InferenceError
from sftops.inference import BundleTokenizer, ClassifierRuntime, load_runtime, plan_buckets, softmax
from sftops.testing.onnx_fakes import LABELS, expected_logits, make_mean_id_bundle, make_mean_id_model, token_ids

TEXTS = ["I love this so much", "awful", "the service was fine but the food was cold and late " * 3, "ok then"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mean_id_bundle(tmp_path_factory.mktemp("bundle") / "b", max_length=16)


def test_softmax_is_stable_and_normalised() -> None:
    probs = softmax(np.array([[1000.0, 1000.0, 0.0], [1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(probs[0], [0.5, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), [1.0, 1.0])


def test_plan_buckets_groups_similar_lengths() -> None:
    assert plan_buckets([3, 50, 4, 52, 5, 6]) == [[0, 2, 4, 5], [1, 3]]
    assert plan_buckets([10] * 5) == [[0, 1, 2, 3, 4]]
    assert plan_buckets([5, 60], min_bucket=2) == [[0, 1]]  # never a bucket smaller than min_bucket before a split
    assert plan_buckets([]) == []
    buckets = plan_buckets([7, 1, 30, 2, 9, 60, 3], split_tokens=8, min_bucket=1)
    assert sorted(i for b in buckets for i in b) == list(range(7)) and len(buckets) > 1


def test_predictions_are_exact_and_in_request_order(bundle: Path) -> None:
    runtime = load_runtime(bundle, device="cpu")
    predictions = runtime.predict(TEXTS)
    assert runtime.provider == "CPUExecutionProvider" and runtime.variant == "fp32"
    for text, p in zip(TEXTS, predictions):
        ids = token_ids(text)
        want = softmax(expected_logits(ids))
        np.testing.assert_allclose([p.probabilities[name] for name in LABELS], want, rtol=1e-5, atol=1e-6)
        assert p.label == LABELS[int(want.argmax())] and p.score == pytest.approx(float(want.max()), rel=1e-5)
        np.testing.assert_allclose(p.embedding, [np.mean(ids), len(ids)], rtol=1e-6)
    assert [p.truncated for p in predictions] == [False, False, True, False]
    assert [p.n_tokens for p in predictions] == [len(token_ids(t)) for t in TEXTS] and predictions[2].n_tokens == 16
    assert runtime.count_tokens(TEXTS)[2] > 16 >= runtime.count_tokens(TEXTS)[0]
    assert runtime.predict([]) == []


def test_batch_results_equal_one_by_one_results(bundle: Path) -> None:
    runtime = load_runtime(bundle, device="cpu")
    together = runtime.predict(TEXTS * 3)
    alone = [runtime.predict([t])[0] for t in TEXTS * 3]
    for a, b in zip(together, alone):
        assert a.label == b.label and a.probabilities == pytest.approx(b.probabilities, abs=1e-6)


def test_label_count_must_match_the_model(tmp_path: Path) -> None:
    session = ort.InferenceSession(str(make_mean_id_model(tmp_path / "m.onnx")), providers=["CPUExecutionProvider"])
    tok = BundleTokenizer(Tokenizer.from_file(str(builtin_model_dir() / "tokenizer.json")), 16)
    with pytest.raises(InferenceError, match="3 classes but the label map has 2"):
        ClassifierRuntime(session, tok, ["a", "b"])


def test_variant_choice_and_errors(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(InferenceError, match="'int8' is not a published variant"):
        load_runtime(bundle, device="cpu", variant="int8")
    # a CPU bundle with an int8 variant: CPU prefers it over fp32
    folder = make_mean_id_bundle(tmp_path / "b2")
    make_mean_id_model(folder / "model.int8.onnx")
    manifest = BundleManifest.load(folder)
    manifest.variants["int8"] = VariantInfo(file="model.int8.onnx", device="cpu")
    manifest.save(folder)
    assert load_runtime(folder, device="cpu").variant == "int8"
    assert load_runtime(folder, device="auto").provider == "CPUExecutionProvider"  # no GPU here: degrades to CPU
    (folder / "model.int8.onnx").write_bytes(b"not onnx")
    with pytest.raises(InferenceError, match="ONNX Runtime cannot load"):
        load_runtime(folder, device="cpu")


def test_unknown_tokens_are_counted_as_the_drift_reference_counts_them(bundle: Path) -> None:
    runtime = load_runtime(bundle, device="cpu")
    texts = ["hello \U0001f600 world \u2603\u2603", "plain words only"]
    ids = [token_ids(t) for t in texts]
    counts = [p.n_unknown for p in runtime.predict(texts)]
    assert counts == [i.count(100) for i in ids] and counts[0] >= 1 and counts[1] == 0  # 100 = [UNK] in MiniLM's vocab
