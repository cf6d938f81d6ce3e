"""sftops.export._onnx / _wrapper: graph names, dynamic axes and the pooled embedding, on a tiny BERT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from transformers import AutoTokenizer

from sftops.exceptions import InferenceError
from sftops.export import export_onnx, graph_inputs, load_model, with_embedding
from sftops.inference import make_session


@pytest.fixture(scope="module")
def exported(tiny_classifier_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    tokenizer = AutoTokenizer.from_pretrained(tiny_classifier_dir)
    names = graph_inputs(tokenizer)
    wrapper = with_embedding(load_model(tiny_classifier_dir), names)
    path = export_onnx(wrapper, tokenizer, names, tmp_path_factory.mktemp("onnx") / "model.onnx", opset=17)
    return path, wrapper, tokenizer, names


def _dims(value) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_graph_has_named_inputs_outputs_with_dynamic_axes(exported) -> None:
    path, _, _, names = exported
    graph = onnx.load(str(path)).graph
    assert names == ["input_ids", "attention_mask", "token_type_ids"]
    assert {i.name: _dims(i) for i in graph.input} == {name: ["batch", "sequence"] for name in names}
    assert {o.name: _dims(o) for o in graph.output} == {"logits": ["batch", 3], "embedding": ["batch", 32]}


@pytest.mark.parametrize("texts", [
    ["one"],
    ["short", "a little longer text", "x", "the longest text of this batch by quite a few words", "b", "c d", "e f g"],
])
def test_onnx_matches_torch_for_any_batch_and_length(exported, texts: list[str]) -> None:
    path, wrapper, tokenizer, names = exported
    batch = tokenizer(texts, padding=True, return_tensors="np")
    logits, pooled = make_session(path).run(["logits", "embedding"], {n: batch[n].astype(np.int64) for n in names})
    with torch.inference_mode():
        ref_logits, ref_pooled = wrapper(*(torch.from_numpy(batch[n]) for n in names))
    assert logits.shape == (len(texts), 3) and pooled.shape == (len(texts), 32)
    np.testing.assert_allclose(logits, ref_logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(pooled, ref_pooled.numpy(), atol=1e-5)


def test_embedding_is_mean_over_real_tokens_only(exported) -> None:
    """Padding must not move a text's embedding: alone or in a padded batch it is the same vector."""
    path, wrapper, tokenizer, names = exported
    session = make_session(path)
    alone = tokenizer(["good"], return_tensors="np")
    padded = tokenizer(["good", "a much longer neighbour forces padding onto the first text"], padding=True, return_tensors="np")
    assert padded["attention_mask"][0].sum() < padded["attention_mask"].shape[1]
    (_, e_alone) = session.run(None, {n: alone[n].astype(np.int64) for n in names})
    (_, e_padded) = session.run(None, {n: padded[n].astype(np.int64) for n in names})
    np.testing.assert_allclose(e_padded[0], e_alone[0], atol=1e-5)
    with torch.inference_mode():
        hidden = wrapper.model(**{n: torch.from_numpy(alone[n]) for n in names}, output_hidden_states=True).hidden_states[-1]
    np.testing.assert_allclose(e_alone[0], hidden[0].mean(dim=0).numpy(), atol=1e-5)


def test_exporter_leaves_model_in_eval_mode(exported) -> None:
    assert not exported[1].training and not exported[1].model.training


@pytest.mark.parametrize("content", [b"not an onnx model at all", None])
def test_corrupt_onnx_file_is_a_clear_error(exported, tmp_path: Path, content: bytes | None) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(content if content is not None else exported[0].read_bytes()[:5000])  # None: truncated real file
    with pytest.raises(InferenceError, match=r"model\.onnx: ONNX Runtime cannot load this model"):
        make_session(bad)
