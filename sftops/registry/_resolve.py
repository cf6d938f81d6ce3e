"""Resolve `NAME`, `NAME@ALIAS`, `NAME/VERSION` or `models:/...` to one registered version, and fetch its bundle.

Light on imports (mlflow only), so the inference server can use it without torch or transformers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..exceptions import RegistryError
from ._bundle import fetch_bundle
from ._client import CHAMPION, get_version, registry_client, require_model, version_by_alias

if TYPE_CHECKING:
    from mlflow import MlflowClient

_REF = re.compile(r"^(?:models:/)?(?P<name>[^@/]+)(?:@(?P<alias>[^@/]+)|/(?P<version>\d+))?$")


@dataclass(frozen=True)
class ResolvedModel:
    """One registered version: what a served prediction names, and where its run (and bundle) lives."""

    name: str
    version: str
    run_id: str
    alias: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def parse_model_ref(name_or_uri: str, alias: str = CHAMPION) -> tuple[str, str | None, str | None]:
    """(name, alias, version) of a model reference; exactly one of alias and version is set."""
    match = _REF.match(name_or_uri.strip())
    if not match:
        raise RegistryError(
            f"model reference {name_or_uri!r} is not NAME, NAME@ALIAS, NAME/VERSION or models:/NAME@ALIAS"
        )
    if match["version"]:
        return match["name"], None, match["version"]
    return match["name"], match["alias"] or alias, None


def resolve_model(name_or_uri: str, alias: str = CHAMPION, client: "MlflowClient | None" = None) -> ResolvedModel:
    """The version a reference points to (alias `alias` when it names none); RegistryError if there is none."""
    client = client or registry_client()
    name, ref_alias, ref_version = parse_model_ref(name_or_uri, alias)
    if ref_version is not None:
        version = get_version(client, name, ref_version)
    else:
        assert ref_alias is not None
        version = version_by_alias(client, name, ref_alias)
        if version is None:
            require_model(client, name)
            raise RegistryError(
                f"model {name!r} has no version with alias {ref_alias!r}; register one with `dvc repro` "
                f"or set it with `sftops promote {name} VERSION --reason ...`"
            )
    return ResolvedModel(
        name=name, version=str(version.version), run_id=version.run_id, alias=ref_alias, tags=dict(version.tags)
    )


def download_bundle(client: "MlflowClient", name: str, version_or_alias: str | int, dest: str | Path) -> Path:
    """Download the serving bundle of `name` at a version number or alias into `dest`; return `dest`."""
    ref = str(version_or_alias)
    version = get_version(client, name, ref) if ref.isdigit() else None
    if version is None:
        resolved = resolve_model(f"{name}@{ref}", client=client)
        version = get_version(client, name, resolved.version)
    return fetch_bundle(client, version, dest)
