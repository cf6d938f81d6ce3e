"""Talk to the MLflow Model Registry: fail fast when it is unreachable, turn its errors into RegistryError.

Every error names what was being done and never a password (sftops.dburl.scrub). "The registry did not
answer" (RegistryUnreachable: network, server down) stays distinct from "it answered: no such model,
version or alias" (a plain RegistryError), so a server can keep serving its cached model on the first.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from ..dburl import scrub
from ..exceptions import RegistryError, TrackingError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

CHAMPION = "champion"
CHALLENGER = "challenger"
T = TypeVar("T")

# error codes with which a registry answers "no such model / version / alias / run"
_NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


class RegistryUnreachable(RegistryError):
    """The registry did not answer (network, server down), as opposed to answering 'no such model'."""


def _transport_failure(exc: BaseException) -> bool:
    """True when MLflow never got an answer (its HTTP client gave up), rather than the registry refusing."""
    message = getattr(exc, "message", "")
    return isinstance(exc, (OSError, ConnectionError)) or (isinstance(message, str) and message.startswith("API request to"))


@contextlib.contextmanager
def registry_errors(action: str) -> Iterator[None]:
    """Re-raise MLflow and transport errors met while doing `action` as one RegistryError (RegistryUnreachable
    when no answer came), with any password scrubbed from the message."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except (RegistryError, TrackingError):
        raise
    except MlflowException as exc:
        if _transport_failure(exc):
            raise RegistryUnreachable(
                f"MLflow registry unreachable while trying to {action}: {scrub(exc.message.splitlines()[0])[:300]}"
            ) from None
        raise RegistryError(f"MLflow registry refused to {action}: {scrub(exc.message)}") from None
    except (OSError, ConnectionError) as exc:
        raise RegistryUnreachable(f"MLflow registry unreachable while trying to {action}: {scrub(str(exc))}") from None


def registry_call(what: str, func: Callable[[], T]) -> T:
    """`func()`, one registry request about `what`: 'no such thing' answers raise RegistryError, anything else
    (no answer, a server error) RegistryUnreachable, both with secrets scrubbed."""
    from mlflow.exceptions import MlflowException

    try:
        return func()
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND_CODES and not _transport_failure(exc):
            raise RegistryError(f"{what}: {scrub(exc.message)}") from None
        # MLflow's messages name the request URL, with any password in the tracking URI
        raise RegistryUnreachable(f"{what}: registry did not answer ({scrub(exc.message.splitlines()[0])[:300]})") from None
    except Exception as exc:  # requests/urllib3 connection errors surface as several types
        raise RegistryUnreachable(f"{what}: registry did not answer ({type(exc).__name__}: {scrub(str(exc))[:300]})") from None


def registry_uri_for(tracking_uri: str) -> str:
    """The registry URI to use with `tracking_uri`: MLFLOW_REGISTRY_URI when set, else the tracking URI itself."""
    return os.environ.get("MLFLOW_REGISTRY_URI") or tracking_uri


def registry_client(tracking_uri: str | None = None, timeout: float = 10.0, *, check: bool = True) -> MlflowClient:
    """An MlflowClient for `tracking_uri` (default: the current MLflow URI) and its registry (MLFLOW_REGISTRY_URI
    when set), after checking each http(s) server answers within `timeout` (unless `check` is False).

    Raises:
        RegistryUnreachable: an http(s) tracking or registry server did not answer /health.
    """
    import mlflow
    from mlflow import MlflowClient

    from ..tracking import check_reachable

    uri = tracking_uri or mlflow.get_tracking_uri()
    registry_uri = registry_uri_for(uri)
    if check:
        for server in dict.fromkeys((uri, registry_uri)):
            if server.startswith(("http://", "https://")):
                try:
                    check_reachable(server, timeout)
                except TrackingError as exc:
                    raise RegistryUnreachable(str(exc)) from None
    return MlflowClient(tracking_uri=uri, registry_uri=registry_uri)


def version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version holding `alias` on model `name`, or None when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        with registry_errors(f"read model {name!r}"):
            raise
    version = model.aliases.get(alias)
    if version is None:
        return None
    return get_version(client, name, str(version))


def get_version(client: MlflowClient, name: str, version: str | int) -> ModelVersion:
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
        with registry_errors(f"read {name!r} version {version}"):
            raise


def require_model(client: MlflowClient, name: str) -> None:
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
        with registry_errors(f"read model {name!r}"):
            raise
