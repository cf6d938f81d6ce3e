"""The `tracking` section: where MLflow runs go."""

from __future__ import annotations

from pydantic import Field

from ._base import Section


class TrackingConfig(Section):
    """MLflow tracking URI and experiment; MLFLOW_TRACKING_URI overrides the URI."""

    uri: str = Field(
        "sqlite:///mlflow.db", description="sqlite:///file.db (local, with registry) or http(s)://server:port"
    )
    experiment: str = "sftops"
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a tracking server before failing.")
