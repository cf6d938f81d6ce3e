"""sftops.export int8 recipes on a tiny BERT: SmoothQuant leaves the fp32 function unchanged, kept nodes stay fp32,
and the config rejects a bad pattern."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from pydantic import ValidationError
from transformers import AutoTokenizer

from sftops.config import ExportConfig
from sftops.export import Int8Recipe, build_int8, export_onnx, graph_inputs, load_model, with_embedding
from sftops.export._smooth import smooth_model
from sftops.inference import make_session

TEXTS = ["a short tweet", "another, longer tweet about the weather today", "ok", "what a day it was"]


@pytest.fixture(scope="module")
def fp32(tiny_classifier_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    tokenizer = AutoTokenizer.from_pretrained(tiny_classifier_dir)
    names = graph_inputs(tokenizer)
    wrapper = with_embedding(load_model(tiny_classifier_dir), names)
    path = export_onnx(wrapper, tokenizer, names, tmp_path_factory.mktemp("int8") / "model.onnx", opset=17)
    batch = tokenizer(TEXTS, padding=True, return_tensors="np")
    return path, {name: batch[name].astype(np.int64) for name in names}


def _logits(path: Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    return make_session(path).run(["logits"], feed)[0]


def test_smoothing_keeps_the_fp32_function_and_adds_one_mul_per_matmul_input(fp32, tmp_path: Path) -> None:
    path, feed = fp32
    n = smooth_model(path, tmp_path / "smooth.onnx", [feed], alpha=0.8)
    muls = [node for node in onnx.load(str(tmp_path / "smooth.onnx")).graph.node if node.name.startswith("sftops_smooth_")]
    assert n == len(muls) == 2 * 4  # per layer: the Q/K/V input, attention output, FFN in, FFN out (Gemm heads: none)
    np.testing.assert_allclose(_logits(tmp_path / "smooth.onnx", feed), _logits(path, feed), atol=1e-4)


def test_kept_nodes_stay_fp32_and_smooth_int8_runs(fp32, tmp_path: Path) -> None:
    path, feed = fp32
    recipe = Int8Recipe(0.8, (r"layer\.1/output/dense",), lambda: [feed])
    build_int8(path, tmp_path / "int8.onnx", recipe)
    nodes = {node.name: node.op_type for node in onnx.load(str(tmp_path / "int8.onnx")).graph.node}
    assert nodes["/model/bert/encoder/layer.1/output/dense/MatMul"] == "MatMul"  # kept in fp32
    assert "MatMulInteger" in nodes.values() and "/model/bert/encoder/layer.0/output/dense/MatMul" not in nodes
    assert not (tmp_path / "int8.smoothed.onnx").exists()
    logits = _logits(tmp_path / "int8.onnx", feed)
    assert logits.shape == (4, 3) and np.abs(logits - _logits(path, feed)).max() < 0.5


def test_keep_fp32_patterns_must_be_regular_expressions() -> None:
    with pytest.raises(ValidationError, match=r"'layer\(' is not a regular expression"):
        ExportConfig(int8_keep_fp32=["layer("])
