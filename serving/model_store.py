"""Which model is served: resolve a model reference (sftops.registry.ModelRef) in the MLflow registry, cache it, follow the alias.

Cache layout (one folder per version; several servers may share it, see ModelCache):

    <cache_dir>/<NAME>/<VERSION>/              the serving bundle + model_info.json
    <cache_dir>/<NAME>/aliases/<ALIAS>.json    the version the alias pointed at, last time one loaded
    <cache_dir>/<NAME>/.incoming-*/            private downloads in progress (renamed into place when whole)

When the registry cannot be reached at start the last cached version is served
(`degraded` says so); with nothing cached, start fails with a ServingError. A
new version is loaded and warmed up beside the old one, then swapped in by one
reference assignment: batches already running keep the runtime they started with.
A version that cannot be loaded or warmed up is never swapped in: the old one keeps
serving, `load_failure` says why (/health shows `degraded`), and it is retried with
a doubling delay until a newer version appears.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sftops.atomic import write_json
from sftops.bundle import MANIFEST_FILE, RequestedDevice
from sftops.dburl import scrub
from sftops.exceptions import RegistryError, ServingError, SftopsError
from sftops.inference import Aggregation, Runtime, load_runtime
from sftops.registry import ModelRef, RegistryUnreachable, ResolvedModel, download_bundle, registry_client, resolve_model

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

INFO_FILE = "model_info.json"
DEFAULT_CACHE_DIR = Path("~/.cache/sftops/serving")


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to answer: its registry facts and its runtime."""

    info: ResolvedModel
    runtime: Runtime  # a ClassifierRuntime or TaggerRuntime, by the bundle's task; versions of one model may differ
    bundle_dir: Path


def limit_registry_retries(timeout_s: float) -> None:
    """Make MLflow's HTTP client give up within about `timeout_s` instead of retrying for minutes.

    For this process only: retrains the server spawns start without these (sftops.retraining.set_private_env)."""
    from sftops.retraining import set_private_env

    set_private_env({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                     "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, int(timeout_s)))})


class ModelCache:
    """The local folder of downloaded bundles and the alias pointers of the last successful load.

    Safe for several servers (processes, or machines on a shared disk) at once: a bundle is
    downloaded into a private `.incoming-*` folder, completed there (model_info.json included),
    then renamed into place in one step. A rename onto a folder that exists fails, so when two
    servers fetch the same version the first one's folder wins and the other drops its copy
    and uses the winner's. No version folder is ever deleted or replaced: another server may be
    serving from it (its drift reference is read from there after a swap), and a lease scheme
    to know that is more machinery than the disk it would save. Remove old versions by hand
    while no server runs on the cache.
    """

    INCOMING_MAX_AGE_S = 24 * 3600  # an `.incoming-*` folder this old was left by a crashed download

    def __init__(self, root: str | Path | None) -> None:
        self.root = Path(root or DEFAULT_CACHE_DIR).expanduser()

    def version_dir(self, name: str, version: str) -> Path:
        return self.root / name / version

    def has(self, name: str, version: str) -> bool:
        folder = self.version_dir(name, version)
        return (folder / MANIFEST_FILE).is_file() and (folder / INFO_FILE).is_file()

    def fetch(self, info: ResolvedModel, client: MlflowClient) -> Path:
        """The cached bundle of `info`'s version, downloading it (via sftops.registry) first when missing."""
        target = self.version_dir(info.name, info.version)
        if self.has(info.name, info.version):
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        self._sweep_incoming(target.parent)
        incoming = Path(tempfile.mkdtemp(prefix=f".incoming-{info.version}-", dir=target.parent))
        try:
            bundle = download_bundle(client, info.name, info.version, incoming / "bundle")  # checked against its manifest
            write_json(bundle / INFO_FILE, info.model_dump(mode="json"))
            try:
                os.rename(bundle, target)  # atomic; fails if another server's copy is already in place
            except OSError:
                if (target / MANIFEST_FILE).is_file() and not (target / INFO_FILE).is_file():
                    # a bundle cached by an older sftops, which wrote model_info.json after the rename
                    write_json(target / INFO_FILE, info.model_dump(mode="json"))
                if not self.has(info.name, info.version):
                    raise ServingError(
                        f"{target} exists but is not a complete cached bundle; remove it while no server uses this cache"
                    ) from None
                log.info("version %s was cached by another server meanwhile; using its copy", info.version)
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        return target

    def _sweep_incoming(self, folder: Path) -> None:
        """Remove `.incoming-*` folders abandoned by crashed downloads (none can still be running after a day)."""
        cutoff = time.time() - self.INCOMING_MAX_AGE_S
        for stale in folder.glob(".incoming-*"):
            with contextlib.suppress(OSError):
                if stale.stat().st_mtime < cutoff:
                    shutil.rmtree(stale, ignore_errors=True)

    def remember_alias(self, info: ResolvedModel) -> None:
        if info.alias:
            write_json(self.root / info.name / "aliases" / f"{info.alias}.json", {"version": info.version})

    def cached_info(self, ref: ModelRef) -> ResolvedModel | None:
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
        return ResolvedModel.model_validate({**raw, "alias": ref.alias})


@dataclass(frozen=True)
class _Backoff:
    """A version that failed to load: how often in a row, and when it may be tried again (time.monotonic)."""

    version: str
    reason: str
    failures: int
    next_try: float


class ModelStore:
    """Holds the served model; loads the first one, follows the alias and hot-swaps new versions.

    `retry_base_s` and `retry_max_s` pace retries of a version that failed to load (the app sets
    them from serve.poll_interval_s and serve.load_retry_max_s); `on_load_failure` is told of each.
    """

    def __init__(
        self,
        ref: ModelRef,
        *,
        tracking_uri: str | None,
        cache_dir: str | Path | None = None,
        device: RequestedDevice = "auto",
        variant: str | None = None,
        intra_op_threads: int = 0,
        aggregation: Aggregation = "first",
        on_swap: Callable[[LoadedModel], None] | None = None,
    ) -> None:
        self.ref = ref
        self.tracking_uri = tracking_uri
        self.cache = ModelCache(cache_dir)
        # how load_runtime runs a bundle (aggregation: serve.aggregation, used by token-classification bundles)
        self._device, self._variant, self._threads, self._aggregation = device, variant, intra_op_threads, aggregation
        self.on_swap = on_swap  # called after each swap (metrics)
        self.on_load_failure: Callable[[str, str], None] | None = None  # (version, reason), e.g. a metric
        self.retry_base_s = 30.0
        self.retry_max_s = 900.0
        self._current: LoadedModel | None = None
        self._lock = threading.Lock()
        self.degraded: str | None = None  # why the server runs on a cached model, if it does
        self._backoff: _Backoff | None = None  # the newest version, when it failed to load
        self._folder: Path | None = None  # set by from_folder
        self.last_error: str | None = None

    @classmethod
    def from_folder(
        cls, folder: str | Path, *, device: RequestedDevice = "auto", variant: str | None = None, intra_op_threads: int = 0,
        aggregation: Aggregation = "first",
    ) -> ModelStore:
        """A store serving one local bundle folder (e.g. models/onnx): no registry, no alias to follow."""
        folder = Path(folder).resolve()
        store = cls(ModelRef(folder.name, version="local"), tracking_uri=None, device=device, variant=variant,
                    intra_op_threads=intra_op_threads, aggregation=aggregation)
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

    @property
    def load_failure(self) -> str | None:
        """Why the newest version is not served, when it failed to load; None otherwise."""
        failed, current = self._backoff, self._current
        if failed is None:
            return None
        serving = f"still serving version {current.info.version}" if current else "nothing served"
        wait = max(0.0, failed.next_try - time.monotonic())
        return (f"version {failed.version} could not be loaded ({failed.reason}); {serving}; failed {failed.failures} "
                f"time(s), next try in {wait:.0f} s or when a newer version appears")

    @property
    def problems(self) -> str | None:
        """Why the server is degraded (cached model at start, a new version that failed to load), or None."""
        found = [p for p in (self.load_failure, self.degraded) if p]
        return "; ".join(found) or None

    def _client(self) -> MlflowClient:
        """A client of the tracking URI and its registry (MLFLOW_REGISTRY_URI when set); no /health probe, since
        every poll would pay for it and an unreachable registry shows in the request itself."""
        return registry_client(self.tracking_uri, check=False)

    def _load(self, info: ResolvedModel, bundle_dir: Path) -> LoadedModel:
        runtime = load_runtime(bundle_dir, self._device, self._variant, self._threads, aggregation=self._aggregation)
        runtime.warmup()
        return LoadedModel(info=info, runtime=runtime, bundle_dir=bundle_dir)

    def _fetch_and_load(self, info: ResolvedModel, client: MlflowClient) -> LoadedModel:
        """Download (if needed), load and warm up `info`'s version; any failure is recorded and raised as ServingError."""
        try:
            return self._load(info, self.cache.fetch(info, client))
        except Exception as exc:  # a corrupt bundle fails in many libraries (ORT, tokenizers, json, the registry)
            reason = str(exc) if isinstance(exc, SftopsError) else f"{type(exc).__name__}: {exc}"
            failed = self._backoff
            failures = failed.failures + 1 if failed and failed.version == info.version else 1
            delay = min(self.retry_base_s * 2 ** (failures - 1), self.retry_max_s)
            self._backoff = _Backoff(info.version, scrub(reason)[:500], failures, time.monotonic() + delay)
            message = self.load_failure
            log.error("%s", message)
            if self.on_load_failure is not None:
                self.on_load_failure(info.version, reason)
            raise ServingError(str(message)) from None

    def _loaded(self, info: ResolvedModel, model: LoadedModel) -> None:
        """`model` loaded fine: remember the alias, clear any failure, swap it in."""
        self.cache.remember_alias(info)
        self._backoff = None
        self._swap(model)

    def _swap(self, model: LoadedModel) -> None:
        old, self._current = self._current, model
        log.info("serving %s version %s (was %s)", model.info.name, model.info.version, old.info.version if old else None)
        if self.on_swap is not None:
            self.on_swap(model)

    def load_initial(self) -> LoadedModel:
        """Load the model `ref` names now, or the cached one when the registry is unreachable.

        When the version `ref` names cannot be loaded but the alias's last good version is cached,
        that one serves (degraded) and the new one is retried as `check` paces it.
        """
        if self._folder is not None:
            with self._lock:
                model = self._load(ResolvedModel(name=self.ref.name, version="local"), self._folder)
                self._swap(model)
                return model
        with self._lock:
            try:
                client = self._client()
                info = resolve_model(self.ref, client=client)
                self.degraded = None
            except RegistryUnreachable as exc:
                cached = self.cache.cached_info(self.ref)
                if cached is None:
                    raise ServingError(
                        f"{exc}; and no cached copy of {self.ref} in {self.cache.root}. Start the registry "
                        f"(or fix MLFLOW_TRACKING_URI / tracking.uri, or MLFLOW_REGISTRY_URI when set) and retry"
                    ) from None
                self.degraded = f"registry unreachable at start; serving cached version {cached.version} ({exc})"
                log.warning("%s", self.degraded)
                model = self._load(cached, self.cache.version_dir(cached.name, cached.version))
                self._swap(model)
                return model
            except RegistryError as exc:
                raise ServingError(f"cannot serve {self.ref}: {exc}") from None
            try:
                model = self._fetch_and_load(info, client)
            except ServingError:
                fallback = self.cache.cached_info(self.ref)
                if fallback is None or fallback.version == info.version:
                    raise
                log.warning("serving the last good cached version %s instead", fallback.version)
                model = self._load(fallback, self.cache.version_dir(fallback.name, fallback.version))
                self._swap(model)
                return model
            self._loaded(info, model)
            return model

    def check(self, *, force: bool = False) -> bool:
        """Ask the registry what `ref` means now; load, warm up and swap in a new version. True if swapped.

        A version that failed to load is retried only once its backoff delay has passed, unless
        `force` (an admin's reload); a newer version is tried at once. A failure raises ServingError.
        """
        if self._folder is not None:
            return False
        with self._lock:
            client = self._client()
            try:
                info = resolve_model(self.ref, client=client)
            except RegistryError as exc:
                self.last_error = str(exc)
                raise
            self.last_error = None
            current = self._current
            if current is not None and current.info.version == info.version:
                self.degraded = None
                self._backoff = None  # the alias is (back) on the version we serve
                return False
            failed = self._backoff
            if failed and failed.version == info.version and not force and time.monotonic() < failed.next_try:
                return False  # still backing off this broken version
            model = self._fetch_and_load(info, client)
            self.degraded = None
            self._loaded(info, model)
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
