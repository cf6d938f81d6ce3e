"""Tiny serving bundles for registry tests: a tiny BERT classifier exported to ONNX, in a 'good' and an 'all one class' flavour.

Test labels are the good model's own PyTorch predictions, so the good bundle scores
(almost) 1.0 and the constant one scores far lower: the gate's outcome is known in advance.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from sftops.data.labels import LabelMap
from sftops.modeling import TrainedModelInfo
from sftops.testing import make_text_dataset

if TYPE_CHECKING:
    from sftops.config import Params
    from sftops.registry import Registration

LABELS = LabelMap(("negative", "neutral", "positive"))
MAX_LENGTH = 32


@dataclass(frozen=True)
class TinyProject:
    """A project folder with everything the register stage reads, plus spare bundles."""

    root: Path
    good_bundle: Path
    constant_bundle: Path  # predicts one class for everything: the worse model


def _classifiers(tiny_bert_dir: Path, tokenizer, texts: list[str]):
    """(good, constant): the good head is centred on these texts' pooled outputs, so it predicts every class."""
    import torch
    from transformers import AutoModelForSequenceClassification

    def load():
        return AutoModelForSequenceClassification.from_pretrained(
            tiny_bert_dir, num_labels=len(LABELS), id2label=LABELS.id2label, label2id=LABELS.label2id
        ).eval()

    good, constant = load(), load()
    enc = tokenizer(texts, truncation=True, max_length=MAX_LENGTH, padding=True, return_tensors="pt")
    with torch.no_grad():
        pooled = good.bert(**enc).pooler_output
        centred = pooled - pooled.mean(0)
        directions = torch.linalg.svd(centred, full_matrices=False).Vh[: len(LABELS)]
        weight = directions / centred.matmul(directions.T).std(0).unsqueeze(1) * 10.0
        good.classifier.weight.copy_(weight)
        good.classifier.bias.copy_(-weight.matmul(pooled.mean(0)))
        constant.classifier.weight.zero_()
        constant.classifier.bias.copy_(torch.tensor([0.0, 100.0, 0.0]))
    return good, constant


def _save_model(model, tokenizer, folder: Path) -> Path:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    LABELS.save(folder / "label_map.json")
    TrainedModelInfo(train_run_id="train-run-1", params_hash="p" * 16, data_hash="d" * 32, git_commit="c" * 40,
              base_model="tiny", strategy="full", max_length=MAX_LENGTH).save(folder)
    return folder


def write_bundle(model_dir: Path, prepared_dir: Path, folder: Path) -> Path:
    """The export stage's own bundle (fp32 only, to stay fast) for a saved model folder."""
    from sftops.config import ExportConfig
    from sftops.data.prepared import load_prepared
    from sftops.export import export_bundle

    export_bundle(model_dir, load_prepared(prepared_dir), ExportConfig(variants=[], parity_atol=0.01), max_length=MAX_LENGTH, target=folder)
    return folder


def _write_prepared(root: Path, model, tokenizer, datasets: dict) -> None:
    import torch

    prepared = root / "data" / "prepared"
    prepared.mkdir(parents=True)
    for split, df in datasets.items():
        enc = tokenizer(list(df["text"]), truncation=True, max_length=MAX_LENGTH, padding=True, return_tensors="pt")
        with torch.no_grad():
            pred = model(**enc).logits.argmax(-1).tolist()
        frame = pd.DataFrame({"text": df["text"], "label": pred, "label_name": [LABELS.names[i] for i in pred]})
        frame.to_parquet(prepared / f"{split}.parquet")
    (prepared / "meta.json").write_text(json.dumps({"label_map": LABELS.label2id}))


@pytest.fixture(scope="session")
def tiny_project(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> TinyProject:
    from transformers import AutoTokenizer

    base = tmp_path_factory.mktemp("registry-project")
    root = base / "project"
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    datasets = {split: make_text_dataset(n, seed=seed) for split, n, seed in (("train", 30, 1), ("validation", 15, 2), ("test", 90, 3))}
    good, constant = _classifiers(tiny_bert_dir, tokenizer, list(datasets["test"]["text"]))
    model_dir = _save_model(good, tokenizer, root / "models" / "model")
    _write_prepared(root, good, tokenizer, datasets)
    metrics = root / "metrics"
    metrics.mkdir()
    scores = {"accuracy": 0.9, "macro_f1": 0.8, "per_class": {}}
    (metrics / "eval.json").write_text(json.dumps({"fine_tuned": scores, "untuned": scores, "tfidf_logreg": scores}))
    prepared = root / "data" / "prepared"
    good_bundle = write_bundle(model_dir, prepared, base / "good")
    shutil.copytree(good_bundle, root / "models" / "onnx")
    constant_dir = _save_model(constant, tokenizer, base / "constant-model")
    return TinyProject(root, good_bundle, write_bundle(constant_dir, prepared, base / "constant"))


@pytest.fixture()
def server(mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The real MLflow server, as the tracking URI every registry call of this test uses."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server_url)
    return mlflow_server_url


@pytest.fixture(scope="session")
def project_params():
    """A factory: Params pointing tracking at `url` and the registry at `model_name`."""
    return _project_params


def _project_params(url: str, model_name: str, **registry):
    from sftops.config import parse_params

    return parse_params({"tracking": {"uri": url, "experiment": "registry-tests"},
                         "registry": {"model_name": model_name, **registry}})


@pytest.fixture(scope="session")
def registry_snapshot():
    """A factory: the registry state of one model, to prove a failed call changed nothing."""
    return _registry_snapshot


def _registry_snapshot(url: str, name: str) -> dict:
    """Everything a registry change could touch for model `name`: versions, aliases, tags of model and versions."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(url)
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        return {}
    versions = client.search_model_versions(f"name='{name}'")
    return {"aliases": dict(model.aliases), "tags": dict(model.tags),
            "versions": {v.version: dict(v.tags) for v in versions}}


@pytest.fixture(scope="session")
def bundle_version():
    """A factory: register `bundle` as a new version of `name` quickly (bundle only, no transformers model)."""

    def create(url: str, name: str, bundle: Path) -> str:
        import mlflow
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        from sftops.bundle import BUNDLE_ARTIFACT_PATH

        client = MlflowClient(url)
        with contextlib.suppress(MlflowException):
            client.create_registered_model(name)
        mlflow.set_tracking_uri(url)
        with mlflow.start_run() as run:
            mlflow.log_artifacts(str(bundle), BUNDLE_ARTIFACT_PATH)
        source = f"runs:/{run.info.run_id}/{BUNDLE_ARTIFACT_PATH}"
        return str(client.create_model_version(name, source, run_id=run.info.run_id).version)

    return create


@pytest.fixture(scope="session")
def register() -> Callable[..., Registration]:
    """`register_model` after connecting to the params' tracking store, as the register stage does."""
    from sftops.registry import register_model
    from sftops.tracking import connect

    def _register(params: Params, **kwargs: Any) -> Registration:
        connect(params.tracking)
        return register_model(params, **kwargs)

    return _register
