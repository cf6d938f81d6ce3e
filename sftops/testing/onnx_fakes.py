"""Test fakes for ONNX serving: fixed-weight ONNX models, serving bundles around them, and registering them.

The classifier reads token ids and computes, per text, m = mean of its (unpadded) ids;
logits = m * WEIGHT + BIAS; embedding = [m, number of tokens]. So expected
probabilities follow from the tokenizer alone.

The tagger (token classification) looks each token id up in a table: logits[b, t] = TABLE[input_ids[b, t]],
the same embedding. A test names the logits of the tokens it cares about (`lookup_table`); every other
token is O with probability `softmax(DEFAULT_TOKEN_LOGITS)[0]`.
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
TAGS = ("O", "B-LOC", "I-LOC", "B-PER", "I-PER")
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


def _embedding_nodes() -> list:
    """Nodes computing `embedding` = [mean of the unpadded ids, their count] from input_ids and attention_mask."""
    from onnx import TensorProto, helper

    return [
        helper.make_node("Cast", ["input_ids"], ["ids_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["ids_f", "mask_f"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axes"], ["total"], keepdims=1),
        helper.make_node("ReduceSum", ["mask_f", "axes"], ["count"], keepdims=1),
        helper.make_node("Div", ["total", "count"], ["mean"]),
        helper.make_node("Concat", ["mean", "count"], ["embedding"], axis=1),
    ]


def make_mean_id_model(path: str | Path, weight: np.ndarray = WEIGHT, bias: np.ndarray = BIAS) -> Path:
    """Write the fixed-weight ONNX model (inputs input_ids, attention_mask; outputs logits, embedding)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    k = len(weight)
    nodes = [
        *_embedding_nodes(),
        helper.make_node("MatMul", ["mean", "W"], ["scaled"]),
        helper.make_node("Add", ["scaled", "B"], ["logits"]),
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


def default_token_logits(k: int) -> np.ndarray:
    """The lookup tagger's logits for a token the test did not name: O clearly ahead."""
    return np.array([3.0] + [0.0] * (k - 1), dtype=np.float32)


def lookup_table(token_logits: dict[str, Sequence[float]], labels: Sequence[str] = TAGS) -> np.ndarray:
    """The lookup tagger's (vocab, K) table over MiniLM's vocabulary: `token_logits` for the named tokens
    (e.g. {"paris": [0, 5, 0, 0, 0]}), `default_token_logits` for the rest."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(builtin_model_dir() / "tokenizer.json"))
    table = np.tile(default_token_logits(len(labels)), (tokenizer.get_vocab_size(), 1))
    for token, logits in token_logits.items():
        token_id = tokenizer.token_to_id(token)
        if token_id is None:
            raise ValueError(f"{token!r} is not in the MiniLM vocabulary")
        table[token_id] = np.asarray(logits, dtype=np.float32)
    return table


def make_lookup_tagger(path: str | Path, table: np.ndarray) -> Path:
    """Write the lookup tagger (inputs input_ids, attention_mask; outputs logits (B, T, K), embedding (B, 2))."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Gather", ["table", "input_ids"], ["logits"], axis=0), *_embedding_nodes()]
    inits = [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
        numpy_helper.from_array(np.asarray(table, dtype=np.float32), "table"),
    ]
    graph = helper.make_graph(
        nodes, "lookup_tagger",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", table.shape[1]]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 2])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def make_tagger_bundle(
    folder: str | Path, token_logits: dict[str, Sequence[float]], *, labels: Sequence[str] = TAGS, max_length: int = 16
) -> Path:
    """A complete token-classification serving bundle around the lookup tagger, with the MiniLM tokenizer."""
    import json

    from sftops.tagging import entity_types

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    make_lookup_tagger(folder / "model.onnx", lookup_table(token_logits, labels))
    shutil.copy(builtin_model_dir() / "tokenizer.json", folder / "tokenizer.json")
    (folder / "label_map.json").write_text(json.dumps({name: i for i, name in enumerate(labels)}))
    BundleManifest(
        task="token_classification", max_length=max_length, inputs=["input_ids", "attention_mask"], labels=list(labels),
        entity_types=entity_types(labels), drift_reference_file=None,
        variants={"fp32": VariantInfo(file="model.onnx", device="any")},
    ).save(folder)
    return folder


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
