"""sftops.export for a token classifier: per-token logits with dynamic axes, the parity gate on tokens and word tags,
entity F1 per variant, the NER drift reference, and a manifest the server loads as a tagger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sftops.bundle import BundleManifest, VariantInfo
from sftops.config import ExportConfig
from sftops.evaluation import entity_metrics
from sftops.exceptions import ExportError
from sftops.export import ExportReport, export_bundle, model_task
from sftops.export._bundle import publish_reason
from sftops.inference import TaggerRuntime, load_runtime, make_session
from sftops.testing import prepared_from_frames
from sftops.testing.ner_data import prepared_ner
from sftops.testing.tiny_bert import save_token_classifier

FAST = ExportConfig(variants=["optimized", "int8"], drift_samples=50, require_speedup=False, max_f1_drop=1.0, min_agreement=0.0)
MAX_LENGTH = 32


@pytest.fixture(scope="module")
def tagger_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_token_classifier(tiny_bert_dir, tmp_path_factory.mktemp("tagger") / "model", max_length=MAX_LENGTH)


@pytest.fixture(scope="module")
def exported(tagger_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ExportReport]:
    target = tmp_path_factory.mktemp("ner-bundle") / "onnx"
    return target, export_bundle(tagger_dir, prepared_ner(), FAST, max_length=MAX_LENGTH, target=target)


def test_the_model_folder_says_it_is_a_token_classifier(tagger_dir: Path, tiny_classifier_dir: Path) -> None:
    assert model_task(tagger_dir) == "token_classification"
    assert model_task(tiny_classifier_dir) == "classification"  # a plain folder: config.architectures


def test_manifest_is_a_tagging_bundle(exported) -> None:
    folder, report = exported
    manifest = BundleManifest.load(folder)
    assert manifest == report.manifest
    assert manifest.task == "token_classification" and manifest.entity_types == ["LOC", "PER"]
    assert manifest.labels == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"] and manifest.max_length == MAX_LENGTH
    runtime = load_runtime(folder, device="cpu", aggregation="average")
    assert isinstance(runtime, TaggerRuntime) and runtime.variant == "int8" and runtime.aggregation == "average"


def test_logits_are_per_token_with_dynamic_batch_and_sequence(exported) -> None:
    folder, report = exported
    session = make_session(folder / "model.onnx")
    for batch, width in ((1, 5), (3, 17)):
        feed = {name: np.ones((batch, width), dtype=np.int64) for name in report.manifest.inputs}
        logits, embedding = session.run(["logits", "embedding"], feed)
        assert logits.shape == (batch, width, 5) and embedding.shape == (batch, 32)


def test_variants_are_scored_by_entity_f1_and_tag_agreement(exported) -> None:
    _, report = exported
    assert report.metric == "entity_f1" and report.n_test == 20
    assert report.parity.words == sum(len(t) for t in prepared_ner().test["tokens"])  # every word fits in 32 tokens
    fp32 = report.manifest.variants["fp32"]
    assert fp32.max_abs_diff is not None and fp32.max_abs_diff <= 1e-4 and fp32.tag_agreement == 1.0
    assert fp32.entity_f1 == pytest.approx(report.torch_f1) and fp32.f1_delta == pytest.approx(0.0)
    for name in ("optimized", "int8"):
        info = report.manifest.variants[name]
        assert info.macro_f1 is None and info.argmax_agreement is None
        assert info.f1_delta == pytest.approx(info.entity_f1 - report.torch_f1)
        assert info.tag_agreement is not None and 0.0 <= info.tag_agreement <= 1.0
    metrics = report.metrics()
    assert metrics["torch.entity_f1"] == report.torch_f1 and "torch.macro_f1" not in metrics
    assert metrics["int8.entity_f1"] == report.manifest.variants["int8"].entity_f1
    assert metrics["parity.tag_agreement"] == report.parity.argmax_agreement and metrics["parity.words"] == report.parity.words


def test_the_bundles_tags_score_as_export_scored_them(exported) -> None:
    """Export's entity F1 for fp32 is what the runtime's tag_words gives on the test sentences."""
    folder, report = exported
    runtime = load_runtime(folder, device="cpu", variant="fp32")
    assert isinstance(runtime, TaggerRuntime)
    test = prepared_ner().test
    tags = runtime.tag_words(list(test["tokens"]), batch_size=7)
    assert [len(t) for t in tags] == [len(t) for t in test["tokens"]]
    assert entity_metrics(list(test["tags"]), tags)["entity_f1"] == pytest.approx(report.manifest.variants["fp32"].entity_f1)


def test_drift_reference_is_the_taggers_answers_on_validation(exported) -> None:
    folder, report = exported
    reference = report.drift
    assert reference.task == "token_classification" and reference.split == "validation" and reference.n == 20
    assert reference.entity_types == ["LOC", "PER"] and set(reference.embeddings_files) == {"fp32", "optimized", "int8"}
    runtime = load_runtime(folder, device="cpu", variant="fp32")
    answers = runtime.predict(list(prepared_ner().validation["text"]))
    assert reference.entities_per_text == [len(a.entities) for a in answers]
    assert reference.token_lengths == [a.n_tokens for a in answers]


def test_a_tagger_with_classification_data_is_refused(tagger_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="holds a token_classification model but the prepared data is for classification"):
        export_bundle(tagger_dir, prepared_from_frames(), FAST, max_length=MAX_LENGTH, target=tmp_path / "onnx")
    assert not (tmp_path / "onnx").exists()


def test_tag_parity_failure_names_words(tagger_dir: Path, tmp_path: Path) -> None:
    strict = ExportConfig(parity_atol=1e-30, variants=[], drift_samples=10)
    with pytest.raises(ExportError, match=r"does not match PyTorch on 20 test examples: logits max \|onnx - torch\|"):
        export_bundle(tagger_dir, prepared_ner(), strict, max_length=MAX_LENGTH, target=tmp_path / "onnx")
    assert not (tmp_path / "onnx").exists()


def test_int8_is_withheld_beyond_the_allowed_entity_f1_drop() -> None:
    info = VariantInfo(file="model.int8.onnx", device="cpu", entity_f1=0.5, f1_delta=-0.03)
    assert publish_reason("int8", info, 900.0, 400.0, ExportConfig(max_f1_drop=0.01), "entity_f1") == (
        "loses 0.0300 test entity F1 vs PyTorch (> export.max_f1_drop 0.01)"
    )
    assert publish_reason("int8", info, 900.0, 400.0, ExportConfig(max_f1_drop=0.05), "entity_f1") is None
