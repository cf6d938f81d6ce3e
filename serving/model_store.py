"""Which model is served: resolve `NAME[@ALIAS|/VERSION]` in the MLflow registry, cache it, follow the alias.

Cache layout (one folder per version, written atomically, so a crash never leaves half a bundle):

    <cache_dir>/<NAME>/<VERSION>/              the serving bundle + model_info.json
    <cache_dir>/<NAME>/aliases/<ALIAS>.json    the version the alias pointed at, last time we asked

When the registry cannot be reached at start the last cached version is served
(`degraded` says so); with nothing cached, start fails with a ServingError. A
new version is loaded and warmed up beside the old one, then swapped in by one
reference assignment: batches already running keep the runtime they started with.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from sftops.atomic import write_json
from sftops.bundle import MANIFEST_FILE
from sftops.dburl import scrub
from sftops.exceptions import RegistryError, ServingError

from .runtime import ClassifierRuntime, load_runtime

log = logging.getLogger(__name__)

INFO_FILE = "model_info.json"
DEFAULT_CACHE_DIR = Path("~/.cache/sftops/serving")
_REF = re.compile(r"^(?P<name>[^@/]+)(?:@(?P<alias>[^@/]+)|/(?P<version>\d+))?$")
_NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


@dataclass(frozen=True)
class ModelRef:
    """A registered model and either an alias to follow or a fixed version."""

    name: str
    alias: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, spec: str, default_alias: str = "champion") -> "ModelRef":
        match = _REF.match(spec.strip())
        if not match:
            raise ServingError(f"--model {spec!r}: expected NAME, NAME@ALIAS or NAME/VERSION (e.g. sftops-sentiment@champion)")
        alias, version = match["alias"], match["version"]
        return cls(match["name"], alias or (None if version else default_alias), version)

    def __str__(self) -> str:
        return f"{self.name}@{self.alias}" if self.alias else f"{self.name}/{self.version}"


class ModelInfo(BaseModel):
    """What a client may ask about the served model (GET /v1/model)."""

    name: str
    version: str
    alias: str | None = None
    run_id: str | None = None
    data_hash: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to answer: its registry facts and its runtime."""

    info: ModelInfo
    runtime: ClassifierRuntime
    bundle_dir: Path


class RegistryUnreachable(RegistryError):
    """The registry did not answer (network, server down), as opposed to answering 'no such model'."""


def limit_registry_retries(timeout_s: float) -> None:
    """Make MLflow's HTTP client give up within about `timeout_s` instead of retrying for minutes.

    For this process only: retrains the server spawns start without these (sftops.retraining.set_private_env)."""
    from sftops.retraining import set_private_env

    set_private_env({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                     "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, int(timeout_s)))})


def _registry_call(what: str, func: Callable[[], object]) -> object:
    from mlflow.exceptions import MlflowException

    try:
        return func()
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND_CODES:
            raise RegistryError(f"{what}: {scrub(exc.message)}") from None
        # MLflow's messages name the request URL, with any password in the tracking URI
        raise RegistryUnreachable(f"{what}: registry did not answer ({scrub(exc.message.splitlines()[0])[:300]})") from None
    except Exception as exc:  # requests/urllib3 connection errors surface as several types
        raise RegistryUnreachable(f"{what}: registry did not answer ({type(exc).__name__}: {scrub(str(exc))[:300]})") from None


def resolve_info(client: "object", ref: ModelRef) -> ModelInfo:
    """Ask the registry which version `ref` means now, with its run id, data hash and metrics."""
    if ref.alias:
        mv = _registry_call(f"model {ref}", lambda: client.get_model_version_by_alias(ref.name, ref.alias))
    else:
        mv = _registry_call(f"model {ref}", lambda: client.get_model_version(ref.name, ref.version))
    tags = dict(mv.tags or {})
    metrics: dict[str, float] = {}
    if mv.run_id:
        run = _registry_call(f"run {mv.run_id}", lambda: client.get_run(mv.run_id))
        metrics = dict(run.data.metrics)
        tags = {**{k: v for k, v in run.data.tags.items() if k.startswith("sftops.")}, **tags}
    return ModelInfo(
        name=ref.name, version=str(mv.version), alias=ref.alias, run_id=mv.run_id,
        data_hash=tags.get("sftops.data_hash"), metrics=metrics, tags=tags,
    )


class ModelCache:
    """The local folder of downloaded bundles and the alias pointers of the last successful resolve."""

    def __init__(self, root: str | Path | None) -> None:
        self.root = Path(root or DEFAULT_CACHE_DIR).expanduser()

    def version_dir(self, name: str, version: str) -> Path:
        return self.root / name / version

    def has(self, name: str, version: str) -> bool:
        folder = self.version_dir(name, version)
        return (folder / MANIFEST_FILE).is_file() and (folder / INFO_FILE).is_file()

    def fetch(self, info: ModelInfo, client: "object") -> Path:
        """The cached bundle of `info`'s version, downloading it (via sftops.registry) first when missing."""
        from sftops.registry import download_bundle

        target = self.version_dir(info.name, info.version)
        if not self.has(info.name, info.version):
            download_bundle(client, info.name, info.version, target)  # atomic, checked against its manifest
            write_json(target / INFO_FILE, info.model_dump(mode="json"))
        return target

    def remember_alias(self, info: ModelInfo) -> None:
        if info.alias:
            write_json(self.root / info.name / "aliases" / f"{info.alias}.json", {"version": info.version})

    def cached_info(self, ref: ModelRef) -> ModelInfo | None:
        """The version `ref` meant when last resolved, if its bundle is cached."""
        version = ref.version
        if ref.alias:
            pointer = self.root / ref.name / "aliases" / f"{ref.alias}.json"
            try:
                version = str(json.loads(pointer.read_text(encoding="utf-8"))["version"])
            except (OSError, ValueError, KeyError):
                return None
        if version is None or not self.has(ref.name, version):
            return None
        raw = json.loads((self.version_dir(ref.name, version) / INFO_FILE).read_text(encoding="utf-8"))
        return ModelInfo.model_validate({**raw, "alias": ref.alias})


class ModelStore:
    """Holds the served model; loads the first one, follows the alias and hot-swaps new versions."""

    def __init__(
        self,
        ref: ModelRef,
        *,
        tracking_uri: str | None,
        cache_dir: str | Path | None = None,
        device: str = "auto",
        variant: str | None = None,
        intra_op_threads: int = 0,
        on_swap: Callable[[LoadedModel], None] | None = None,
    ) -> None:
        self.ref = ref
        self.tracking_uri = tracking_uri
        self.cache = ModelCache(cache_dir)
        self._load_args = {"device": device, "variant": variant, "intra_op_threads": intra_op_threads}
        self.on_swap = on_swap  # called after each swap (metrics)
        self._current: LoadedModel | None = None
        self._lock = threading.Lock()
        self.degraded: str | None = None  # why the server runs on a cached model, if it does
        self._folder: Path | None = None  # set by from_folder
        self.last_error: str | None = None

    @classmethod
    def from_folder(cls, folder: str | Path, **load_args: object) -> "ModelStore":
        """A store serving one local bundle folder (e.g. models/onnx): no registry, no alias to follow."""
        folder = Path(folder).resolve()
        store = cls(ModelRef(folder.name, version="local"), tracking_uri=None, **load_args)  # type: ignore[arg-type]
        store._folder = folder
        return store

    @property
    def current(self) -> LoadedModel:
        model = self._current
        if model is None:
            raise ServingError("no model loaded yet")
        return model

    @property
    def ready(self) -> bool:
        return self._current is not None

    def _client(self) -> "object":
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def _load(self, info: ModelInfo, bundle_dir: Path) -> LoadedModel:
        runtime = load_runtime(bundle_dir, **self._load_args)
        runtime.warmup()
        return LoadedModel(info=info, runtime=runtime, bundle_dir=bundle_dir)

    def _swap(self, model: LoadedModel) -> None:
        old, self._current = self._current, model
        log.info("serving %s version %s (was %s)", model.info.name, model.info.version, old.info.version if old else None)
        if self.on_swap is not None:
            self.on_swap(model)

    def load_initial(self) -> LoadedModel:
        """Load the model `ref` names now, or the cached one when the registry is unreachable."""
        if self._folder is not None:
            with self._lock:
                model = self._load(ModelInfo(name=self.ref.name, version="local"), self._folder)
                self._swap(model)
                return model
        with self._lock:
            try:
                client = self._client()
                info = resolve_info(client, self.ref)
                bundle_dir = self.cache.fetch(info, client)
                self.cache.remember_alias(info)
                self.degraded = None
            except RegistryUnreachable as exc:
                info = self.cache.cached_info(self.ref)
                if info is None:
                    raise ServingError(
                        f"{exc}; and no cached copy of {self.ref} in {self.cache.root}. Start the registry "
                        f"(or fix MLFLOW_TRACKING_URI / tracking.uri) and retry"
                    ) from None
                bundle_dir = self.cache.version_dir(info.name, info.version)
                self.degraded = f"registry unreachable at start; serving cached version {info.version} ({exc})"
                log.warning("%s", self.degraded)
            except RegistryError as exc:
                raise ServingError(f"cannot serve {self.ref}: {exc}") from None
            model = self._load(info, bundle_dir)
            self._swap(model)
            return model

    def check(self) -> bool:
        """Ask the registry what `ref` means now; load, warm up and swap in a new version. True if swapped."""
        if self._folder is not None:
            return False
        with self._lock:
            client = self._client()
            try:
                info = resolve_info(client, self.ref)
            except RegistryError as exc:
                self.last_error = str(exc)
                raise
            self.last_error = None
            current = self._current
            if current is not None and current.info.version == info.version:
                self.degraded = None
                return False
            model = self._load(info, self.cache.fetch(info, client))
            self.cache.remember_alias(info)
            self.degraded = None
            self._swap(model)
            return True

    async def follow(self, interval_s: float) -> None:
        """Poll the registry every `interval_s` forever; errors are logged and retried next round."""
        if self._folder is not None or (self.ref.alias is None and not self.degraded):
            return  # a fixed version never changes
        while True:
            await asyncio.sleep(interval_s)
            try:
                await asyncio.to_thread(self.check)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep serving the current model whatever the registry does
                log.warning("registry check for %s failed: %s", self.ref, exc)
