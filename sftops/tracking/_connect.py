"""Point MLflow at the configured store and prove it answers before any work starts."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from ..config import TrackingConfig
from ..exceptions import TrackingError


def resolve_tracking_uri(cfg: TrackingConfig) -> str:
    """MLFLOW_TRACKING_URI wins over `tracking.uri`, so users redirect runs without editing params."""
    return os.environ.get("MLFLOW_TRACKING_URI") or cfg.uri


def check_reachable(uri: str, timeout: float) -> None:
    """Raise TrackingError unless the MLflow server at `uri` answers /health within `timeout` seconds."""
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            if resp.status != 200:
                raise TrackingError(f"MLflow tracking server {uri} answered /health with HTTP {resp.status}")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingError(
            f"MLflow tracking server {uri} is unreachable ({reason}); start it "
            f"(`mlflow server --host 127.0.0.1 --port 5000`) or fix tracking.uri / MLFLOW_TRACKING_URI"
        ) from None


def connect(cfg: TrackingConfig, experiment: str | None = None) -> str:
    """Set MLflow's tracking URI and experiment after checking the store answers; return the URI."""
    import mlflow

    uri = resolve_tracking_uri(cfg)
    if uri.startswith(("http://", "https://")):
        check_reachable(uri, cfg.connect_timeout)
    elif uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    try:
        mlflow.set_experiment(experiment or cfg.experiment)
    except Exception as exc:  # MlflowException and driver errors: report, don't trace back
        raise TrackingError(f"MLflow store {uri} refused to open experiment {experiment or cfg.experiment!r}: {exc}") from None
    return uri
