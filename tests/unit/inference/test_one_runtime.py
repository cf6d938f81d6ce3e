"""sftops.inference is the one runtime: the server, the promotion gate and export evaluation pad and score alike.

The bundle here pads on purpose in a way that changes the answer: its tokenizer.json has no padding
section, its tokenizer_config.json names `[MASK]` (id 103, not [PAD]/0) as pad token, and its model
sums every input id, pad positions included. Before the one runtime the server padded with 0 and
the gate with 103, so they disagreed on short texts batched with long ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from sftops.defaults import builtin_model_dir
from sftops.inference import BundleTokenizer, load_runtime, softmax
from sftops.testing.imports import loaded_by_import
from sftops.testing.onnx_fakes import LABELS, expected_logits, make_mean_id_bundle, token_ids

MAX_LENGTH = 16
PAD_TOKEN, PAD_ID = "[MASK]", 103
TEXTS = [
    "ok",  # 3 tokens: padded in any batch with a longer text
    "the service was fine but the food was cold and late " * 3,  # truncated at MAX_LENGTH
    "hello \U0001f600 world \u2603\u2603",  # emoji and snowmen: unknown tokens
    "I love this so much",
    "awful",
]


def _pad_sensitive_bundle(folder: Path) -> Path:
    """make_mean_id_bundle whose model does not mask the ids (pads count) and whose tokenizer pads with [MASK]."""
    import onnx

    make_mean_id_bundle(folder, max_length=MAX_LENGTH)
    model = onnx.load(str(folder / "model.onnx"))
    nodes = [node for node in model.graph.node if node.op_type != "Mul"]  # drop ids * mask
    for node in nodes:
        node.input[:] = ["ids_f" if name == "masked" else name for name in node.input]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({"pad_token": PAD_TOKEN}))
    return folder


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pad_sensitive_bundle(tmp_path_factory.mktemp("pad-bundle") / "b")


def test_importing_the_runtime_loads_neither_torch_nor_transformers() -> None:
    assert loaded_by_import(["sftops.inference"], ["torch", "transformers"]) == []


def test_one_pad_id_rule(bundle: Path) -> None:
    base = Tokenizer.from_file(str(builtin_model_dir() / "tokenizer.json"))  # padding section with pad_id 0
    assert BundleTokenizer(base, 8, pad_token=PAD_TOKEN).pad_id == 0  # tokenizer.json's padding wins
    bare = Tokenizer.from_file(str(bundle / "tokenizer.json"))
    assert bare.padding is None
    assert BundleTokenizer.from_folder(bundle, MAX_LENGTH).pad_id == PAD_ID  # then tokenizer_config.json's pad_token
    assert BundleTokenizer(bare, 8).pad_id == 0  # then [PAD] (id 0 in this vocab)
    assert BundleTokenizer(bare, 8, pad_token="no-such-token").pad_id == 0


def test_the_server_pads_with_the_bundles_pad_token(bundle: Path) -> None:
    """Expected numbers by hand: "ok" batched with a 16-token text carries 13 [MASK] pads."""
    from sftops_serving.model_store import ModelStore

    store = ModelStore.from_folder(bundle, device="cpu")
    store.load_initial()
    short, long = store.current.runtime.predict(TEXTS[:2])
    ids = token_ids(TEXTS[0], MAX_LENGTH)
    padded = ids + [PAD_ID] * (MAX_LENGTH - len(ids))
    want = softmax(expected_logits([sum(padded) / len(ids)]))  # the model: sum of all ids / real tokens
    assert 0.4 < want.max() < 0.9  # not saturated: the numbers are a real check
    np.testing.assert_allclose([short.probabilities[name] for name in LABELS], want, rtol=1e-5, atol=1e-6)
    assert short.label == "positive"  # with 0-pads (the server's old rule) it was "negative"
    assert (short.n_tokens, long.n_tokens, long.truncated) == (len(ids), MAX_LENGTH, True)


def test_server_gate_and_export_give_identical_outputs(bundle: Path) -> None:
    from sftops.export import onnx_outputs, variant_runtime
    from sftops.registry import predict_bundle, score_bundle
    from sftops_serving.model_store import ModelStore

    store = ModelStore.from_folder(bundle, device="cpu")
    store.load_initial()
    served = store.current.runtime.predict(TEXTS)
    served_probs = np.array([[p.probabilities[name] for name in LABELS] for p in served])
    served_embeddings = np.stack([p.embedding for p in served])

    _, gate_preds, variant, device = predict_bundle(bundle, TEXTS, batch_size=64, device="cpu")
    assert (variant, device) == ("fp32", "cpu")
    assert gate_preds.tolist() == served_probs.argmax(axis=1).tolist()
    score = score_bundle(bundle, TEXTS, [p.label for p in served])
    assert score.metric("accuracy") == 1.0 and score.n == len(TEXTS)

    exported = onnx_outputs(
        variant_runtime(bundle / "model.onnx", BundleTokenizer.from_folder(bundle, MAX_LENGTH), LABELS, "fp32"), TEXTS, 32
    )
    assert np.array_equal(exported.probabilities.astype(np.float64), served_probs)
    assert np.array_equal(exported.embedding, served_embeddings)
    assert exported.n_tokens.tolist() == [p.n_tokens for p in served]
    assert exported.n_unknown.tolist() == [p.n_unknown for p in served] and served[2].n_unknown >= 1
    assert np.array_equal(load_runtime(bundle, "cpu").run(TEXTS, 64).logits, exported.logits)
