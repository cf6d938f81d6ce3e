"""Point MLflow at the configured store and prove it answers before any work starts."""

from __future__ import annotations

import base64
import os
import urllib.error
import urllib.request
from pathlib import Path

from ..config import TrackingConfig
from ..dburl import redact, scrub, split_credentials
from ..exceptions import TrackingError

# MLflow 3 records an experiment's kind in this tag; "custom_model_development" is what its UI writes for
# "Machine learning". The 3.17 UI itself picks the page by a per-browser sidebar switch (default GenAI: the
# overview of traces and token usage) that a `?workflowType=machine_learning` URL sets: `experiment_url` gives it.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
WORKFLOW_QUERY = "workflowType=machine_learning"


def resolve_tracking_uri(cfg: TrackingConfig) -> str:
    """MLFLOW_TRACKING_URI wins over `tracking.uri` (its `${VAR}` filled in), so users redirect runs without editing params.

    An http(s) URI's user:password moves to MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD, where MLflow
    reads them (and child processes inherit them): MLflow prints its URI ("View run at ...") and quotes it in
    errors, so the URI returned holds no password.

    Raises:
        ConfigError: tracking.uri names a `${VAR}` that is not set."""
    return _credentials_to_env(os.environ.get("MLFLOW_TRACKING_URI") or cfg.expanded_uri())


def _credentials_to_env(uri: str) -> str:
    if not uri.startswith(("http://", "https://")):
        return uri
    bare, user, password = split_credentials(uri)
    if user is not None:
        os.environ["MLFLOW_TRACKING_USERNAME"] = user
        os.environ["MLFLOW_TRACKING_PASSWORD"] = password or ""
    return bare


def _health_request(uri: str) -> urllib.request.Request:
    """GET <uri>/health, with a user:password in the URI (or MLFLOW_TRACKING_USERNAME/PASSWORD) sent as basic auth.

    urllib would take `user:password@host` for a host name."""
    bare, user, password = split_credentials(uri.rstrip("/"))
    if user is None:
        user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    request = urllib.request.Request(bare + "/health")
    if user:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    return request


def check_reachable(uri: str, timeout: float) -> None:
    """Check that the MLflow server at `uri` answers /health within `timeout` seconds.

    Raises:
        TrackingError: no answer, or an HTTP error (e.g. 401 for bad credentials)."""
    shown = redact(uri)
    try:
        with urllib.request.urlopen(_health_request(uri), timeout=timeout) as resp:
            if resp.status != 200:
                raise TrackingError(f"MLflow tracking server {shown} answered /health with HTTP {resp.status}")
    except urllib.error.HTTPError as exc:
        raise TrackingError(f"MLflow tracking server {shown} answered /health with HTTP {exc.code}; "
                            "check the URL and its credentials (tracking.uri / MLFLOW_TRACKING_URI)") from None
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
        reason = scrub(str(getattr(exc, "reason", exc)))
        raise TrackingError(
            f"MLflow tracking server {shown} is unreachable ({reason}); start it "
            f"(`mlflow server --host 127.0.0.1 --port 5000`) or fix tracking.uri / MLFLOW_TRACKING_URI"
        ) from None


def connect(cfg: TrackingConfig, experiment: str | None = None) -> str:
    """Set MLflow's tracking URI and experiment after checking the store answers; return the URI (it may hold a password).

    A relative SQLite file is made absolute against the working folder. The experiment is marked a model-training
    one (EXPERIMENT_KIND_TAG) unless it already has a kind, so the MLflow UI opens on its runs.

    Raises:
        TrackingError: the server does not answer /health, or the store refuses to open the experiment."""
    import mlflow

    uri = resolve_tracking_uri(cfg)
    if uri.startswith(("http://", "https://")):
        check_reachable(uri, cfg.connect_timeout)
    elif uri.startswith("sqlite:///"):
        # absolute: a relative file means the working folder at connect time (the project), not wherever the
        # process is later (MLflow caches one store per URI, so two projects' `mlflow.db` must not share one)
        db = Path(uri[len("sqlite:///") :]).expanduser().resolve()
        db.parent.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{db}"
    mlflow.set_tracking_uri(uri)
    try:
        opened = mlflow.set_experiment(experiment or cfg.experiment)
        if EXPERIMENT_KIND_TAG not in opened.tags:  # a kind the user picked in the UI stays
            _mark_kind(opened.experiment_id)
    except Exception as exc:  # MlflowException and driver errors: report, don't trace back
        raise TrackingError(
            f"MLflow store {redact(uri)} refused to open experiment {experiment or cfg.experiment!r}: {scrub(str(exc))}"
        ) from None
    return uri


def _mark_kind(experiment_id: str) -> None:
    """Tag the experiment a model-training one; another process tagging it at the same moment is no error.

    MLflow's SQL store inserts an experiment tag without an upsert, so two stages connecting at once (parallel
    tune workers, two deciders) can collide on its unique key: the one that loses finds the tag set."""
    import mlflow

    client = mlflow.MlflowClient()
    try:
        client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    except Exception:
        if EXPERIMENT_KIND_TAG not in client.get_experiment(experiment_id).tags:
            raise


def experiment_url(server: str, experiment_id: str) -> str:
    """The MLflow UI link that opens the experiment on its training runs (not the GenAI overview) in any browser."""
    return f"{redact(server.rstrip('/'))}/#/experiments/{experiment_id}?{WORKFLOW_QUERY}"
