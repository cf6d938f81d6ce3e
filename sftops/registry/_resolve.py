"""Model references (`NAME`, `NAME@ALIAS`, `NAME/VERSION`, `models:/...`) and what one means in the registry now.

The one parser and resolver of references: the CLI, the promotion gate and the inference server all use
it. Light on imports (mlflow and pydantic only), so the server can use it without torch or transformers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from ..exceptions import RegistryError
from ._bundle import fetch_bundle
from ._client import CHAMPION, get_version, registry_call, registry_client, require_model

if TYPE_CHECKING:
    from mlflow import MlflowClient

_REF = re.compile(r"^(?:models:/)?(?P<name>[^@/]+)(?:@(?P<alias>[^@/]+)|/(?P<version>\d+))?$")
REF_FORMS = "NAME, NAME@ALIAS, NAME/VERSION or models:/NAME@ALIAS"


@dataclass(frozen=True)
class ModelRef:
    """A registered model and either an alias to follow or a fixed version (an alias, `champion`, when neither is given)."""

    name: str
    alias: str | None = None
    version: str | None = None

    def __post_init__(self) -> None:
        if self.alias is not None and self.version is not None:
            raise RegistryError(f"model reference {self.name!r}: give an alias or a version, not both")
        if self.alias is None and self.version is None:
            object.__setattr__(self, "alias", CHAMPION)

    @classmethod
    def parse(cls, spec: str, default_alias: str = CHAMPION) -> ModelRef:
        """Parse `NAME`, `NAME@ALIAS`, `NAME/VERSION` or `models:/` followed by one of those.

        Raises:
            RegistryError: `spec` is none of those forms.
        """
        match = _REF.match(spec.strip())
        if not match:
            raise RegistryError(f"model reference {spec!r} is not {REF_FORMS} (e.g. sftops-sentiment@champion)")
        if match["version"]:
            return cls(match["name"], version=match["version"])
        return cls(match["name"], alias=match["alias"] or default_alias)

    @property
    def uri(self) -> str:
        """The `models:/` URI MLflow itself understands."""
        return f"models:/{self}"

    def __str__(self) -> str:
        return f"{self.name}@{self.alias}" if self.alias else f"{self.name}/{self.version}"


class ResolvedModel(BaseModel):
    """One registered version as a reference resolved to it: what a served prediction names, where its run
    (and bundle) lives, and the run's metrics and lineage tags (version tags win over run tags)."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    alias: str | None = None
    run_id: str | None = None
    data_hash: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def resolve_model(
    ref: ModelRef | str, alias: str = CHAMPION, client: MlflowClient | None = None, *, with_run: bool = True
) -> ResolvedModel:
    """The version `ref` points to now (alias `alias` when a string reference names none), with its run's metrics
    and `sftops.*` tags unless `with_run` is False.

    Raises:
        RegistryUnreachable: the registry did not answer.
        RegistryError: it answered: no such model, version, alias or run (the message says which).
    """
    ref = ref if isinstance(ref, ModelRef) else ModelRef.parse(ref, alias)
    client = client or registry_client()
    name, alias_, version_ = ref.name, ref.alias, ref.version
    try:
        if version_ is not None:
            mv = registry_call(f"model {ref}", lambda: client.get_model_version(name, version_))
        else:
            assert alias_ is not None  # a ModelRef names one of the two
            mv = registry_call(f"model {ref}", lambda: client.get_model_version_by_alias(name, alias_))
    except RegistryError as exc:
        if type(exc) is not RegistryError:  # RegistryUnreachable: no answer, nothing more to ask
            raise
        _explain_missing(client, ref)
        raise
    tags = dict(mv.tags or {})
    metrics: dict[str, float] = {}
    run_id = mv.run_id or None
    if with_run and run_id:
        run = registry_call(f"run {run_id}", lambda: client.get_run(run_id))
        metrics = dict(run.data.metrics)
        tags = {**{k: v for k, v in run.data.tags.items() if k.startswith("sftops.")}, **tags}
    return ResolvedModel(
        name=name, version=str(mv.version), alias=alias_, run_id=run_id,
        data_hash=tags.get("sftops.data_hash"), metrics=metrics, tags=tags,
    )


def _explain_missing(client: MlflowClient, ref: ModelRef) -> None:
    """Raise the clear RegistryError for a reference the registry said does not exist (model, version or alias)."""
    require_model(client, ref.name)
    if ref.version is not None:
        get_version(client, ref.name, ref.version)
    else:
        raise RegistryError(
            f"model {ref.name!r} has no version with alias {ref.alias!r}; register one with `dvc repro` "
            f"or set it with `sftops promote {ref.name} VERSION --reason ...`"
        )


def download_bundle(client: MlflowClient, name: str, version_or_alias: str | int, dest: str | Path) -> Path:
    """Download the serving bundle of `name` at a version number or alias into `dest`; return `dest`.

    Raises:
        RegistryError: no such version or alias, or its bundle is incomplete (RegistryUnreachable: no answer).
    """
    ref = str(version_or_alias)
    number = ref if ref.isdigit() else resolve_model(ModelRef(name, alias=ref), client=client, with_run=False).version
    return fetch_bundle(client, get_version(client, name, number), dest)
