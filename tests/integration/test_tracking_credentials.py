"""A tracking URI with user:password works against a real `mlflow server`, and MLflow never prints the password."""

from __future__ import annotations

import os

import mlflow
import pytest

from sftops.config import TrackingConfig
from sftops.tracking import connect

PW = "Trk9pw4Zz"


def test_credentials_in_the_tracking_uri_are_used_but_never_printed(
    mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setenv("SFTOPS_TEST_MLFLOW_PW", PW)
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.setenv(name, "restored after the test")
    cfg = TrackingConfig(uri=mlflow_server_url.replace("http://", "http://alice:${SFTOPS_TEST_MLFLOW_PW}@"),
                         experiment="credentials")
    uri = connect(cfg)
    assert uri == mlflow_server_url and mlflow.get_tracking_uri() == mlflow_server_url
    assert os.environ["MLFLOW_TRACKING_PASSWORD"] == PW  # where MLflow reads it, for every request
    with mlflow.start_run() as run:
        mlflow.log_param("p", 1)
    out, err = capfd.readouterr()
    assert f"runs/{run.info.run_id}" in out  # MLflow's own "View run at <tracking URI>/#/..." line
    assert PW not in out + err
    assert mlflow.get_run(run.info.run_id).data.params == {"p": "1"}
