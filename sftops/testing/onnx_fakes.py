"""Test fakes for ONNX serving: a fixed-weight ONNX classifier, a serving bundle around it, and registering it.

The model reads token ids and computes, per text, m = mean of its (unpadded) ids;
logits = m * WEIGHT + BIAS; embedding = [m, number of tokens]. So expected
probabilities follow from the tokenizer alone.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sftops.bundle import BundleManifest, VariantInfo
from sftops.defaults import builtin_model_dir

LABELS = ("negative", "neutral", "positive")
WEIGHT = np.array([-0.002, 0.0, 0.002], dtype=np.float32)
BIAS = np.array([6.0, 0.0, -6.0], dtype=np.float32)


def expected_logits(ids: Sequence[int], weight: np.ndarray = WEIGHT, bias: np.ndarray = BIAS) -> np.ndarray:
    return float(np.mean(ids)) * weight + bias


def _tokenizer(tokenizer_file: Path, max_length: int):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def token_ids(text: str, max_length: int = 16) -> list[int]:
    """The ids the mean-id model reads for `text` (MiniLM tokenizer, truncated, unpadded): what expected_logits takes."""
    return _tokenizer(builtin_model_dir() / "tokenizer.json", max_length).encode(text).ids


def make_mean_id_model(path: str | Path, weight: np.ndarray = WEIGHT, bias: np.ndarray = BIAS) -> Path:
    """Write the fixed-weight ONNX model (inputs input_ids, attention_mask; outputs logits, embedding)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    k = len(weight)
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["ids_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["ids_f", "mask_f"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axes"], ["total"], keepdims=1),
        helper.make_node("ReduceSum", ["mask_f", "axes"], ["count"], keepdims=1),
        helper.make_node("Div", ["total", "count"], ["mean"]),
        helper.make_node("MatMul", ["mean", "W"], ["scaled"]),
        helper.make_node("Add", ["scaled", "B"], ["logits"]),
        helper.make_node("Concat", ["mean", "count"], ["embedding"], axis=1),
    ]
    inits = [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
        numpy_helper.from_array(np.asarray(weight, dtype=np.float32).reshape(1, k), "W"),
        numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "B"),
    ]
    graph = helper.make_graph(
        nodes, "mean_id_classifier",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", k]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 2])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def make_mean_id_bundle(
    folder: str | Path, *, labels: Sequence[str] = LABELS, max_length: int = 16,
    weight: np.ndarray = WEIGHT, bias: np.ndarray = BIAS, drift_texts: Sequence[str] | None = None,
) -> Path:
    """A complete serving bundle folder around the fixed-weight model, with the MiniLM tokenizer.

    With `drift_texts`, the bundle gets the drift reference export would write for those texts
    (exact: embeddings and logits follow from the token ids); without, it has none.
    """
    import json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    make_mean_id_model(folder / "model.onnx", weight, bias)
    shutil.copy(builtin_model_dir() / "tokenizer.json", folder / "tokenizer.json")
    (folder / "label_map.json").write_text(json.dumps({name: i for i, name in enumerate(labels)}))
    reference = None
    if drift_texts:
        reference = _mean_id_reference(folder, drift_texts, labels, max_length, weight, bias).save(folder).name
    BundleManifest(
        max_length=max_length, inputs=["input_ids", "attention_mask"], labels=list(labels),
        drift_reference_file=reference, variants={"fp32": VariantInfo(file="model.onnx", device="any")},
    ).save(folder)
    return folder


def _mean_id_reference(
    folder: Path, texts: Sequence[str], labels: Sequence[str], max_length: int, weight: np.ndarray, bias: np.ndarray
):
    from sftops.drift.reference import build_reference

    tokenizer = _tokenizer(folder / "tokenizer.json", max_length)
    ids = [e.ids for e in tokenizer.encode_batch(list(texts))]
    return build_reference(
        token_ids=ids, unk_token_id=tokenizer.token_to_id("[UNK]"),
        logits=np.stack([expected_logits(i, weight, bias) for i in ids]),
        true_labels=[0] * len(ids),
        embeddings={"fp32": np.array([[np.mean(i), len(i)] for i in ids], dtype=np.float32)},
        labels=labels, max_length=max_length, folder=folder,
    )


def register_bundle(client, experiment_id: str, name: str, bundle: Path, *, metrics: dict[str, float] | None = None) -> str:
    """Log `bundle` under `serving/` on a new run and register that run as a new version of `name`.

    The same layout the registry stage produces, so the server finds the bundle by run id.
    """
    from sftops.bundle import BUNDLE_ARTIFACT_PATH

    run = client.create_run(experiment_id, tags={"sftops.data_hash": "abc123"})
    client.log_artifacts(run.info.run_id, str(bundle), BUNDLE_ARTIFACT_PATH)
    for key, value in (metrics or {}).items():
        client.log_metric(run.info.run_id, key, value)
    client.set_terminated(run.info.run_id)
    mv = client.create_model_version(name, source=f"runs:/{run.info.run_id}/{BUNDLE_ARTIFACT_PATH}", run_id=run.info.run_id)
    return str(mv.version)


@dataclass
class BundleRegistry:
    """A SQLite MLflow registry holding bundle versions of one model, for serving tests."""

    uri: str
    name: str
    versions: dict[str, Path]  # version -> bundle folder

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def point(self, alias: str, version: str) -> None:
        self.client().set_registered_model_alias(self.name, alias, version)


def make_bundle_registry(root: Path, name: str, bundles: Sequence[Path], *, metrics: Sequence[dict[str, float]] | None = None,
                         champion: str = "1") -> BundleRegistry:
    """Register `bundles` as versions 1, 2, ... of `name` in a new SQLite store under `root`; alias champion -> `champion`."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = client.create_experiment(f"{name}-tests", artifact_location=(root / "artifacts").as_uri())
    client.create_registered_model(name)
    per_version = list(metrics) if metrics is not None else [{} for _ in bundles]
    versions = {register_bundle(client, experiment_id, name, bundle, metrics=m): bundle for bundle, m in zip(bundles, per_version)}
    assert list(versions) == [str(i) for i in range(1, len(bundles) + 1)]
    client.set_registered_model_alias(name, "champion", champion)
    return BundleRegistry(uri, name, versions)
