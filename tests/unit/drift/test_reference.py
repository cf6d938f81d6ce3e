"""sftops.drift.reference: counts from arrays, float16 embeddings per variant, save/load, bad files."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from sftops.drift.reference import DRIFT_REFERENCE_FILE, DriftReference, build_reference, build_tagging_reference
from sftops.exceptions import RegistryError


@pytest.fixture
def reference(tmp_path: Path) -> DriftReference:
    rng = np.random.default_rng(0)
    fp32 = rng.normal(size=(4, 8)).astype(np.float32)
    ref = build_reference(
        token_ids=[[101, 5, 102], [101, 100, 7, 100, 102], [101, 102], [101, 9, 100, 102]],
        unk_token_id=100,
        logits=np.array([[3.0, 0, 0], [0, 3.0, 0], [0, 3.0, 0], [0, 0, 0]]),
        true_labels=[0, 1, 2, 2],
        embeddings={"fp32": fp32, "int8": fp32 + 0.01},
        labels=["negative", "neutral", "positive"],
        max_length=64,
        folder=tmp_path,
    )
    ref.save(tmp_path)
    return ref


def test_counts_and_samples(reference: DriftReference) -> None:
    assert reference.n == 4 and reference.label_counts == [2, 2, 0] and reference.true_label_counts == [1, 1, 2]
    assert reference.token_lengths == [3, 5, 2, 4] and reference.total_tokens == 14
    assert (reference.unknown_texts, reference.unknown_tokens) == (2, 3)
    p_top = np.exp(3) / (np.exp(3) + 2)
    assert reference.confidences == pytest.approx([p_top, p_top, p_top, 1 / 3], abs=1e-5)
    assert reference.embedding_dim == 8


def test_round_trip_and_embeddings_per_variant(reference: DriftReference, tmp_path: Path) -> None:
    loaded = DriftReference.load(tmp_path)
    assert loaded == reference
    assert np.load(tmp_path / "drift_embeddings.fp32.npy").dtype == np.float16
    fp32, int8 = loaded.embeddings(tmp_path, "fp32"), loaded.embeddings(tmp_path, "int8")
    assert fp32.dtype == np.float32 and np.abs(int8 - fp32 - 0.01).max() < 5e-3
    np.testing.assert_array_equal(loaded.embeddings(tmp_path, "fp16"), fp32)  # no fp16 sample: fp32's
    profile = loaded.profile(tmp_path, "int8")
    assert profile.label_counts.tolist() == [2, 2, 0] and profile.unknown_hits == 2 and profile.unknown_trials == 4


def test_missing_or_malformed_files_are_registry_errors(reference: DriftReference, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="no drift reference"):
        DriftReference.load(tmp_path / "elsewhere")
    (tmp_path / DRIFT_REFERENCE_FILE).write_text('{"format": 1, "n": "many"}')
    with pytest.raises(RegistryError, match="malformed drift reference"):
        DriftReference.load(tmp_path)
    np.save(tmp_path / "drift_embeddings.fp32.npy", np.zeros((3, 8), dtype=np.float16))
    with pytest.raises(RegistryError, match=r"shape \(3, 8\), expected \(4, 8\)"):
        reference.embeddings(tmp_path, "fp32")


def _answer(types: list[str], confidence: float, n_tokens: int, n_unknown: int, embedding: np.ndarray) -> SimpleNamespace:
    """What TaggerRuntime.predict answers for one text (the fields the reference reads)."""
    return SimpleNamespace(entities=[SimpleNamespace(type=t) for t in types], confidence=confidence,
                           n_tokens=n_tokens, n_unknown=n_unknown, embedding=embedding)


def test_tagging_reference_counts_entity_types_per_text_and_loads_as_an_ner_profile(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(3, 8)).astype(np.float32)
    answers = [_answer(["PER", "LOC"], 0.9, 7, 0, emb[0]), _answer([], 0.75, 4, 1, emb[1]),
               _answer(["PER"], 0.5, 9, 2, emb[2])]
    ref = build_tagging_reference(
        tagged={"fp32": answers, "int8": [_answer([], 0.1, 1, 0, e + 0.01) for e in emb]},
        true_tags=[["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"], ["O", "O", "I-PER"]],  # strict: a stray I- is none
        labels=["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"],
        max_length=32, folder=tmp_path, unk_token_id=100,
    )
    ref.save(tmp_path)
    assert ref.task == "token_classification" and ref.entity_types == ["LOC", "ORG", "PER"]
    assert ref.label_counts == [1, 0, 2] and ref.true_label_counts == [1, 1, 1] and ref.entities_per_text == [2, 0, 1]
    assert ref.confidences == [0.9, 0.75, 0.5] and ref.token_lengths == [7, 4, 9] and ref.total_tokens == 20
    assert (ref.unknown_texts, ref.unknown_tokens) == (2, 3)
    loaded = DriftReference.load(tmp_path)
    assert loaded == ref
    profile = loaded.profile(tmp_path, "int8")
    assert profile.task == "token_classification" and profile.num_labels == 3
    assert profile.entities_per_text.tolist() == [2, 0, 1] and np.abs(profile.embeddings - emb - 0.01).max() < 5e-3


def test_a_reference_written_before_ner_still_loads_as_a_classification_profile(reference: DriftReference,
                                                                                 tmp_path: Path) -> None:
    old = json.loads((tmp_path / DRIFT_REFERENCE_FILE).read_text())
    for key in ("task", "entity_types", "entities_per_text"):
        old.pop(key)
    (tmp_path / DRIFT_REFERENCE_FILE).write_text(json.dumps(old))
    loaded = DriftReference.load(tmp_path)
    assert loaded.task == "classification" and loaded.profile(tmp_path, "fp32").task == "classification"
