"""The `tracking` section: where MLflow runs go."""

from __future__ import annotations

from pydantic import Field

from ._base import Section
from ._secrets import EnvStr, expand_env


class TrackingConfig(Section):
    """MLflow tracking URI and experiment; MLFLOW_TRACKING_URI overrides the URI."""

    uri: EnvStr = Field(
        "sqlite:///mlflow.db", description="sqlite:///file.db (local, with registry) or http(s)://server:port; "
        "${VAR} takes a value (e.g. a password) from the environment when connecting"
    )
    experiment: str = "sftops"
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a tracking server before failing.")

    def expanded_uri(self) -> str:
        """`uri` with its `${VAR}` references filled in: only for connecting, never for logs or messages."""
        return expand_env(self.uri, "tracking.uri")
