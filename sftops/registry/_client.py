"""Talk to the MLflow Model Registry: fail fast when it is unreachable, turn its errors into RegistryError."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..exceptions import RegistryError, TrackingError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

CHAMPION = "champion"
CHALLENGER = "challenger"


@contextlib.contextmanager
def registry_errors(action: str) -> Iterator[None]:
    """Re-raise MLflow and transport errors met while doing `action` as one RegistryError."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except (RegistryError, TrackingError):
        raise
    except MlflowException as exc:
        raise RegistryError(f"MLflow registry refused to {action}: {exc.message}") from None
    except (OSError, ConnectionError) as exc:
        raise RegistryError(f"MLflow registry unreachable while trying to {action}: {exc}") from None


def registry_client(tracking_uri: str | None = None, timeout: float = 10.0) -> "MlflowClient":
    """An MlflowClient for `tracking_uri` (default: the current MLflow URI), after checking an http(s) server answers."""
    import mlflow
    from mlflow import MlflowClient

    from ..tracking import check_reachable

    uri = tracking_uri or mlflow.get_tracking_uri()
    if uri.startswith(("http://", "https://")):
        try:
            check_reachable(uri, timeout)
        except TrackingError as exc:
            raise RegistryError(str(exc)) from None
    return MlflowClient(tracking_uri=uri, registry_uri=os.environ.get("MLFLOW_REGISTRY_URI") or uri)


def version_by_alias(client: "MlflowClient", name: str, alias: str) -> "ModelVersion | None":
    """The version holding `alias` on model `name`, or None when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise RegistryError(f"MLflow registry refused to read model {name!r}: {exc.message}") from None
    version = model.aliases.get(alias)
    if version is None:
        return None
    return get_version(client, name, str(version))


def get_version(client: "MlflowClient", name: str, version: str | int) -> "ModelVersion":
    """Model version `version` of `name`; a clear RegistryError when either does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, str(version))
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryError(
                f"model {name!r} has no version {version}; list versions with "
                f"`mlflow models` or MlflowClient().search_model_versions(\"name='{name}'\")"
            ) from None
        raise RegistryError(f"MLflow registry refused to read {name!r} version {version}: {exc.message}") from None


def require_model(client: "MlflowClient", name: str) -> None:
    """Raise RegistryError when no registered model is called `name`."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryError(
                f"no registered model named {name!r}; run the pipeline (`dvc repro`) to register one, "
                "or check registry.model_name"
            ) from None
        raise RegistryError(f"MLflow registry refused to read model {name!r}: {exc.message}") from None
