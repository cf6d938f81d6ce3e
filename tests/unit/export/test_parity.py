"""sftops.export._parity: one error that lists every failed check with its numbers."""

from __future__ import annotations

import numpy as np
import pytest

from sftops.exceptions import ExportError
from sftops.export import check_parity, compare, compare_tokens
from sftops.inference import BundleTokenizer, Outputs, TokenOutputs


def _outputs(logits: list[list[float]], shift: float = 0.0) -> Outputs:
    array = np.asarray(logits, dtype=np.float32)
    return Outputs(array + shift, np.ones((len(array), 4), dtype=np.float32) + shift, 0.0)


REF = [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [1.0, 0.5, 0.0]]


def test_identical_outputs_pass() -> None:
    parity = compare(_outputs(REF), _outputs(REF))
    assert (parity.n, parity.max_abs_diff, parity.argmax_agreement) == (4, 0.0, 1.0)
    check_parity(parity, atol=1e-6, min_agreement=1.0)


def test_small_uniform_shift_within_atol_passes() -> None:
    parity = compare(_outputs(REF), _outputs(REF, shift=5e-4))
    assert parity.max_abs_diff == pytest.approx(5e-4, rel=1e-3)
    check_parity(parity, atol=1e-3, min_agreement=0.999)


def test_every_failure_is_reported_in_one_error() -> None:
    flipped = [row[:] for row in REF]
    flipped[3] = [0.0, 0.5, 1.0]
    parity = compare(_outputs(REF), _outputs(flipped))
    assert parity.argmax_agreement == 0.75 and parity.max_abs_diff == 1.0
    with pytest.raises(ExportError) as info:
        check_parity(parity, atol=1e-3, min_agreement=0.999)
    message = str(info.value)
    assert "logits max |onnx - torch| = 1 > parity_atol 0.001" in message
    assert "argmax agreement 0.7500 < min_argmax_agreement 0.999 (1 of 4 test examples differ)" in message
    assert "embedding" not in message  # embeddings were equal


def test_nan_outputs_fail() -> None:
    nan = [[float("nan")] * 3, *REF[1:]]
    with pytest.raises(ExportError, match="logits max"):
        check_parity(compare(_outputs(REF), _outputs(nan)), atol=1.0, min_agreement=0.5)


def test_shape_mismatch_is_an_export_error() -> None:
    with pytest.raises(ExportError, match="shapes"):
        compare(_outputs(REF), _outputs(REF[:2]))


def test_token_parity_compares_real_tokens_and_tags_at_word_first_subtokens() -> None:
    """"unbelievably ok": [CLS] un ##bel ##ie ##va ##bly ok [SEP]; words start at positions 1 and 6."""
    from tokenizers import Tokenizer

    from sftops.defaults import builtin_model_dir

    tokenizer = BundleTokenizer(Tokenizer.from_file(str(builtin_model_dir() / "tokenizer.json")), 16)
    encoded = tokenizer.encode_words([["unbelievably", "ok"], ["hi"]])
    assert encoded.n_tokens.tolist() == [8, 3]
    rng = np.random.default_rng(0)
    ref_logits = [rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(3, 3)).astype(np.float32)]
    embedding = np.zeros((2, 4), dtype=np.float32)

    def outputs(logits: list[np.ndarray]) -> TokenOutputs:
        return TokenOutputs(logits, embedding, 0.0, encoded)

    same = compare_tokens(outputs(ref_logits), outputs([r.copy() for r in ref_logits]))
    assert (same.n, same.words, same.max_abs_diff, same.argmax_agreement) == (2, 3, 0.0, 1.0)
    inner = [r.copy() for r in ref_logits]
    inner[0][2] = inner[0][2][::-1] + 10.0  # a non-first sub-token: its logits count, its tag does not
    parity = compare_tokens(outputs(ref_logits), outputs(inner))
    assert parity.argmax_agreement == 1.0 and parity.max_abs_diff > 5
    first = [r.copy() for r in ref_logits]
    first[1][1] = -first[1][1]  # "hi": the only sub-token of the second sentence's one word
    parity = compare_tokens(outputs(ref_logits), outputs(first))
    assert parity.argmax_agreement == pytest.approx(2 / 3)
    with pytest.raises(ExportError, match=r"tag agreement 0.6667 < min_argmax_agreement 0.999 \(1 of 3 words of the test"):
        check_parity(parity, atol=10.0, min_agreement=0.999)
