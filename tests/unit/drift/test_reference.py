"""sftops.drift.reference: counts from arrays, float16 embeddings per variant, save/load, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sftops.drift.reference import DRIFT_REFERENCE_FILE, DriftReference, build_reference
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
