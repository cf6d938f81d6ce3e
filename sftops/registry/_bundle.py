"""Fetch and check the serving bundle attached to a registered version (run artifacts under `serving/`)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_path
from ..bundle import BUNDLE_ARTIFACT_PATH, MANIFEST_FILE, BundleManifest
from ..exceptions import RegistryError
from ._client import registry_errors

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion


def _missing_bundle(version: ModelVersion, what: str) -> RegistryError:
    return RegistryError(
        f"model {version.name!r} version {version.version} (run {version.run_id}) {what}; "
        "re-run `sftops export` and `sftops register` to attach a complete bundle"
    )


def _run_id(version: ModelVersion) -> str:
    """The run whose artifacts hold the version's bundle; RegistryError when it has none."""
    if not version.run_id:
        raise _missing_bundle(version, "has no run, so no serving bundle")
    return version.run_id


def check_bundle(client: MlflowClient, version: ModelVersion) -> BundleManifest:
    """Read a version's bundle manifest and check every file it needs is in the run's artifacts, without downloading them."""
    run_id = _run_id(version)
    with registry_errors(f"list artifacts of run {run_id}"):
        present = {Path(f.path).name for f in client.list_artifacts(run_id, BUNDLE_ARTIFACT_PATH)}
    if MANIFEST_FILE not in present:
        raise _missing_bundle(version, f"has no serving bundle ({BUNDLE_ARTIFACT_PATH}/{MANIFEST_FILE} not found)")
    with tempfile.TemporaryDirectory() as tmp, registry_errors(f"download the manifest of run {run_id}"):
        local = client.download_artifacts(run_id, f"{BUNDLE_ARTIFACT_PATH}/{MANIFEST_FILE}", tmp)
        raw = json.loads(Path(local).read_text(encoding="utf-8"))
    try:
        manifest = BundleManifest.model_validate(raw)
    except ValueError as exc:
        raise _missing_bundle(version, f"has a malformed bundle manifest ({exc})") from None
    needed = [v.file for v in manifest.variants.values() if v.published]
    needed += [manifest.tokenizer_file, manifest.label_map_file]
    missing = sorted(f for f in needed if f not in present)
    if missing:
        raise _missing_bundle(version, f"has a serving bundle missing {missing}")
    return manifest


def fetch_bundle(client: MlflowClient, version: ModelVersion, dest: str | Path) -> Path:
    """Download a version's bundle into `dest` (replaced whole, never half-written) and check it."""
    check_bundle(client, version)
    dest = Path(dest)
    run_id = _run_id(version)
    with atomic_path(dest) as tmp, registry_errors(f"download the bundle of run {run_id}"):
        downloaded = client.download_artifacts(run_id, BUNDLE_ARTIFACT_PATH, str(tmp.parent))
        Path(downloaded).rename(tmp)
    BundleManifest.load(dest)
    return dest
