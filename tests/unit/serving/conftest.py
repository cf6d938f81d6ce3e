"""Fixtures for serving unit tests: fixed-weight bundles registered in a real (SQLite) MLflow registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from sftops.testing.onnx_fakes import BIAS, WEIGHT, make_mean_id_bundle, register_bundle

MODEL = "tiny-clf"


@dataclass
class Registry:
    uri: str
    name: str
    versions: dict[str, Path]  # version -> bundle folder

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def point(self, alias: str, version: str) -> None:
        self.client().set_registered_model_alias(self.name, alias, version)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """Model `tiny-clf` with version 1 (WEIGHT, BIAS) and version 2 (flipped), alias champion -> 1."""
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = client.create_experiment("serving-tests", artifact_location=(root / "artifacts").as_uri())
    client.create_registered_model(MODEL)
    v1 = make_mean_id_bundle(root / "b1")
    v2 = make_mean_id_bundle(root / "b2", weight=-WEIGHT, bias=-BIAS)
    versions = {
        register_bundle(client, experiment_id, MODEL, b, metrics={"test_macro_f1": f1}): b
        for b, f1 in ((v1, 0.5), (v2, 0.6))
    }
    assert list(versions) == ["1", "2"]
    client.set_registered_model_alias(MODEL, "champion", "1")
    return Registry(uri, MODEL, versions)


@pytest.fixture
def unreachable_registry(monkeypatch: pytest.MonkeyPatch) -> str:
    """An http URL where nothing listens, with MLflow told not to retry for long."""
    from sftops.testing.servers import free_port

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    return f"http://127.0.0.1:{free_port()}"

