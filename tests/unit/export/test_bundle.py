"""sftops.export._bundle: the whole serving bundle from a tiny classifier, and failures that write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from sftops.bundle import BundleManifest, VariantInfo
from sftops.config import ExportConfig
from sftops.drift.reference import DriftReference
from sftops.exceptions import ExportError, ModelError
from sftops.export import ExportReport, export_bundle
from sftops.export._bundle import publish_reason
from sftops.inference import make_session
from sftops.testing import prepared_from_frames

FAST = ExportConfig(variants=["optimized", "int8"], drift_samples=50, require_speedup=False)


@pytest.fixture(scope="module")
def bundle(tiny_classifier_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ExportReport]:
    target = tmp_path_factory.mktemp("bundle") / "onnx"
    return target, export_bundle(tiny_classifier_dir, _data(), FAST, max_length=48, target=target)


def test_manifest_loads_and_lists_every_variant(bundle) -> None:
    folder, report = bundle
    manifest = BundleManifest.load(folder)
    assert manifest == report.manifest
    assert manifest.inputs == ["input_ids", "attention_mask", "token_type_ids"]
    assert manifest.labels == ["negative", "neutral", "positive"] and manifest.max_length == 48
    assert {name: v.file for name, v in manifest.variants.items()} == {
        "fp32": "model.onnx", "optimized": "model.optimized.onnx", "int8": "model.int8.onnx"
    }
    assert manifest.published("cpu") == ["int8", "optimized", "fp32"]
    assert json.loads((folder / "label_map.json").read_text()) == {"negative": 0, "neutral": 1, "positive": 2}


def test_variant_metrics_are_measured_against_torch(bundle) -> None:
    _, report = bundle
    fp32 = report.manifest.variants["fp32"]
    assert report.n_test == 40 and report.parity.n == 40
    assert fp32.max_abs_diff <= 1e-4 and fp32.argmax_agreement == 1.0
    assert fp32.macro_f1 == pytest.approx(report.torch_f1) and fp32.f1_delta == pytest.approx(0.0)
    for name in ("optimized", "int8"):
        info = report.manifest.variants[name]
        assert info.f1_delta == pytest.approx(info.macro_f1 - report.torch_f1)
        assert 0.0 <= info.argmax_agreement <= 1.0 and info.max_abs_diff >= 0.0
    metrics = report.metrics()
    assert metrics["int8.f1_delta"] == report.manifest.variants["int8"].f1_delta
    assert metrics["int8.published"] is True and metrics["n_test"] == 40


def test_serving_tokenizer_needs_only_the_tokenizers_library(bundle) -> None:
    folder, report = bundle
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    encodings = tokenizer.encode_batch(["hi", "a longer text " * 40])
    assert [len(e.ids) for e in encodings] == [48, 48]  # truncated at max_length, padded to the batch's longest
    short = tokenizer.encode_batch(["hi", "hello there"])
    assert len(short[0].ids) == 4 and sum(short[0].attention_mask) == 3  # no fixed-length padding
    session = make_session(folder / "model.int8.onnx")
    feed = {name: np.array([getattr(e, attr) for e in short], dtype=np.int64)
            for name, attr in zip(report.manifest.inputs, ["ids", "attention_mask", "type_ids"])}
    logits, embedding = session.run(["logits", "embedding"], feed)
    assert logits.shape == (2, 3) and embedding.shape == (2, 32)


def test_drift_reference_describes_the_validation_split(bundle) -> None:
    folder, report = bundle
    reference = DriftReference.load(folder)
    assert reference == report.drift
    assert reference.split == "validation"
    # all 30 validation texts (fewer than drift_samples=50), none of the 60 training texts
    assert reference.n == 30 and sum(reference.label_counts) == 30 and sum(reference.true_label_counts) == 30
    assert len(reference.confidences) == 30 and all(1 / 3 <= c <= 1 for c in reference.confidences)
    assert len(reference.token_lengths) == 30 and max(reference.token_lengths) <= 48
    assert len(set(reference.token_lengths)) > 1  # one length per text, not the padded batch length
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    data = _data()
    lengths = lambda frame: sorted(len(e.ids) for e in tokenizer.encode_batch(frame["text"].tolist()))  # noqa: E731
    assert sorted(reference.token_lengths) == lengths(data.validation)
    assert reference.true_label_counts == np.bincount(data.validation["label"], minlength=3).tolist()
    assert reference.total_tokens == sum(reference.token_lengths)
    assert reference.unk_token_id == 100 and 0 <= reference.unknown_texts <= 30
    assert set(reference.embeddings_files) == {"fp32", "optimized", "int8"}
    fp32 = reference.embeddings(folder, "fp32")
    assert fp32.shape == (30, 32) and np.abs(reference.embeddings(folder, "int8") - fp32).max() < 0.5
    profile = reference.profile(folder, "int8")
    assert profile.embeddings.shape == (30, 32) and profile.unknown_trials == 30


def test_drift_reference_samples_at_most_drift_samples_validation_texts(tiny_classifier_dir: Path, tmp_path: Path) -> None:
    data = prepared_from_frames(n_validation=25)
    cfg = ExportConfig(variants=[], drift_samples=12, require_speedup=False)
    report = export_bundle(tiny_classifier_dir, data, cfg, max_length=48, target=tmp_path / "onnx")
    tokenizer = Tokenizer.from_file(str(tmp_path / "onnx" / "tokenizer.json"))
    tokenizer.no_padding()
    sample = data.validation.sample(n=12, random_state=0)
    assert report.drift.n == 12 and report.drift.split == "validation"
    assert report.drift.token_lengths == [len(e.ids) for e in tokenizer.encode_batch(sample["text"].tolist())]


def test_an_empty_validation_split_is_an_export_error(tiny_classifier_dir: Path, tmp_path: Path) -> None:
    data = prepared_from_frames(n_validation=0)
    with pytest.raises(ExportError, match="validation split is empty"):
        export_bundle(tiny_classifier_dir, data, ExportConfig(variants=[]), max_length=48, target=tmp_path / "onnx")
    assert not (tmp_path / "onnx").exists()


def _data():
    return prepared_from_frames(n_validation=30)


def test_parity_failure_raises_and_leaves_the_old_bundle(tiny_classifier_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "onnx"
    target.mkdir()
    (target / "manifest.json").write_text("old bundle")
    strict = ExportConfig(parity_atol=1e-30, variants=[], drift_samples=10)
    with pytest.raises(ExportError, match=r"does not match PyTorch on 40 test examples: logits max \|onnx - torch\|"):
        export_bundle(tiny_classifier_dir, prepared_from_frames(), strict, max_length=32, target=target)
    assert [p.name for p in tmp_path.iterdir()] == ["onnx"]  # no temp folder left behind
    assert [p.name for p in target.iterdir()] == ["manifest.json"]
    assert (target / "manifest.json").read_text() == "old bundle"


def test_labels_that_differ_from_the_prepared_data_are_refused(tiny_classifier_dir: Path, tmp_path: Path) -> None:
    data = prepared_from_frames()
    from sftops.data.labels import LabelMap

    other = type(data)(data.train, data.validation, data.test, LabelMap(("bad", "good", "neutral")), {})
    with pytest.raises(ExportError, match=r"trained on labels \['negative', 'neutral', 'positive'\]"):
        export_bundle(tiny_classifier_dir, other, FAST, max_length=32, target=tmp_path / "onnx")
    assert not (tmp_path / "onnx").exists()


def test_missing_model_folder_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="run `sftops train`"):
        export_bundle(tmp_path / "nope", prepared_from_frames(), FAST, max_length=32, target=tmp_path / "onnx")


def test_shipped_files_are_exactly_the_published_variants(tiny_classifier_dir: Path, tmp_path: Path) -> None:
    cfg = ExportConfig(variants=["int8"], drift_samples=10, max_f1_drop=0.0, require_speedup=True)
    report = export_bundle(tiny_classifier_dir, prepared_from_frames(), cfg, max_length=32, target=tmp_path / "onnx")
    for name, info in report.manifest.variants.items():
        assert (tmp_path / "onnx" / info.file).exists() == info.published, name
        assert (info.reason is None) == info.published
    assert set(report.drift.embeddings_files) == {n for n, v in report.manifest.variants.items() if v.published}


@pytest.mark.parametrize(
    ("name", "delta", "speed", "expected"),
    [
        ("int8", -0.004, 900.0, None),
        ("int8", -0.02, 900.0, "loses 0.0200 test macro-F1 vs PyTorch (> export.max_f1_drop 0.01)"),
        ("optimized", 0.0, 390.0, "not faster than fp32 ONNX on this CPU (390 vs 400 samples/s)"),
        ("fp16", 0.0, 100.0, None),  # a CUDA variant is not timed against CPU fp32
    ],
)
def test_publish_rule(name: str, delta: float, speed: float, expected: str | None) -> None:
    info = VariantInfo(file="x.onnx", device="cpu", macro_f1=0.5 + delta, f1_delta=delta)
    assert publish_reason(name, info, speed, 400.0, ExportConfig()) == expected
    assert publish_reason(name, info, speed, 400.0, ExportConfig(require_speedup=False, max_f1_drop=0.05)) is None


def test_publish_rule_needs_agreement_with_pytorch() -> None:
    info = VariantInfo(file="x.onnx", device="cpu", macro_f1=0.5, f1_delta=0.0, argmax_agreement=0.978)
    assert publish_reason("int8", info, 900.0, 400.0, ExportConfig()) == (
        "argmax agreement with PyTorch 0.9780 < export.min_agreement 0.98")
    assert publish_reason("int8", info, 900.0, 400.0, ExportConfig(min_agreement=0.97)) is None
    tagger = VariantInfo(file="x.onnx", device="cpu", entity_f1=0.5, f1_delta=0.0, tag_agreement=0.99)
    assert publish_reason("int8", tagger, 900.0, 400.0, ExportConfig(), "entity_f1") is None
    assert publish_reason("int8", tagger, 900.0, 400.0, ExportConfig(min_agreement=0.995), "entity_f1") == (
        "tag agreement with PyTorch 0.9900 < export.min_agreement 0.995")
