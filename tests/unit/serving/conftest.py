"""Fixtures for serving unit tests: fixed-weight bundles registered in a real (SQLite) MLflow registry."""

from __future__ import annotations

import pytest

from sftops.testing.onnx_fakes import BIAS, WEIGHT, BundleRegistry, make_bundle_registry, make_mean_id_bundle

MODEL = "tiny-clf"


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> BundleRegistry:
    """Model `tiny-clf` with version 1 (WEIGHT, BIAS) and version 2 (flipped), alias champion -> 1."""
    root = tmp_path_factory.mktemp("registry")
    bundles = [make_mean_id_bundle(root / "b1"), make_mean_id_bundle(root / "b2", weight=-WEIGHT, bias=-BIAS)]
    return make_bundle_registry(root, MODEL, bundles, metrics=[{"test_macro_f1": 0.5}, {"test_macro_f1": 0.6}])


@pytest.fixture
def unreachable_registry(monkeypatch: pytest.MonkeyPatch) -> str:
    """An http URL where nothing listens, with MLflow told not to retry for long."""
    from sftops.testing.servers import free_port

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    return f"http://127.0.0.1:{free_port()}"
