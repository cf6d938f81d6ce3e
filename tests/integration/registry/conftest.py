"""Tiny serving bundles for registry tests: a tiny BERT classifier exported to ONNX, in a 'good' and an 'all one class' flavour.

Test labels are the good model's own PyTorch predictions, so the good bundle scores
(almost) 1.0 and the constant one scores far lower: the gate's outcome is known in advance.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from sftops.bundle import BundleManifest, VariantInfo
from sftops.data.labels import LabelMap
from sftops.modeling import ModelInfo
from sftops.testing import make_text_dataset

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
        constant.classifier.bias.copy_(torch.tensor([0.0, 1e4, 0.0]))
    return good, constant


def _export(model, path: Path) -> None:
    import torch

    class Wrapper(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                             output_hidden_states=True)
            return out.logits, out.hidden_states[-1][:, 0]

    names = ["input_ids", "attention_mask", "token_type_ids"]
    dummy = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}, "embedding": {0: "batch"}}
    torch.onnx.export(Wrapper(model), dummy, str(path), input_names=names, output_names=["logits", "embedding"],
                      dynamic_axes=axes, opset_version=17, dynamo=False)


def write_bundle(model, tokenizer_dir: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    _export(model, folder / "model.onnx")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer_dir / name, folder / name)
    LABELS.save(folder / "label_map.json")
    BundleManifest(
        max_length=MAX_LENGTH, inputs=["input_ids", "attention_mask", "token_type_ids"], labels=list(LABELS.names),
        drift_reference_file=None, variants={"fp32": VariantInfo(file="model.onnx", device="any")},
    ).save(folder)
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
    model_dir = root / "models" / "model"
    good.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    LABELS.save(model_dir / "label_map.json")
    ModelInfo(train_run_id="train-run-1", params_hash="p" * 16, data_hash="d" * 32, git_commit="c" * 40,
              base_model="tiny", strategy="full", max_length=MAX_LENGTH).save(model_dir)
    _write_prepared(root, good, tokenizer, datasets)
    metrics = root / "metrics"
    metrics.mkdir()
    scores = {"accuracy": 0.9, "macro_f1": 0.8, "per_class": {}}
    (metrics / "eval.json").write_text(json.dumps({"fine_tuned": scores, "untuned": scores, "tfidf_logreg": scores}))
    good_bundle = write_bundle(good, model_dir, base / "good")
    shutil.copytree(good_bundle, root / "models" / "onnx")
    return TinyProject(root, good_bundle, write_bundle(constant, model_dir, base / "constant"))


def _reset_mlflow_globals() -> None:
    """Undo `connect()`'s process-wide MLflow state (tracking URI, active experiment) so no later test inherits it."""
    import mlflow
    import mlflow.tracking.fluent as fluent

    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    fluent._active_experiment_id = None


@pytest.fixture(scope="session")
def reset_mlflow_globals():
    return _reset_mlflow_globals


@pytest.fixture(autouse=True)
def _no_leaked_mlflow_state():
    yield
    _reset_mlflow_globals()


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
        try:
            client.create_registered_model(name)
        except MlflowException:
            pass
        mlflow.set_tracking_uri(url)
        with mlflow.start_run() as run:
            mlflow.log_artifacts(str(bundle), BUNDLE_ARTIFACT_PATH)
        source = f"runs:/{run.info.run_id}/{BUNDLE_ARTIFACT_PATH}"
        return str(client.create_model_version(name, source, run_id=run.info.run_id).version)

    return create
