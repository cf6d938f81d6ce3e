"""The one resolver of `model.base`: the builtin MiniLM, a local folder, or a Hub model id (via the Hub cache)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import ModelConfig
from ..data.hub import hub_model_id, model_snapshot
from ..defaults import resolve_model_dir
from ..exceptions import ModelError


@dataclass(frozen=True)
class ResolvedBase:
    """`model.base` as a local folder, and for a Hub id the commit hash it resolved to."""

    path: Path
    hub_id: str | None = None
    revision: str | None = None  # the commit hash of a Hub model


def resolve_base(cfg: ModelConfig) -> ResolvedBase:
    """`model.base` (and `model.revision`) as a local folder: downloaded once into the Hub cache for a Hub id.

    Raises ModelError (one line naming the id or folder and the fix)."""
    repo_id = hub_model_id(cfg.base)
    if repo_id is None:
        if cfg.revision is not None:
            raise ModelError(f"model.revision applies to a Hugging Face Hub model id, but model.base {cfg.base!r} is not "
                             f"one; remove model.revision")
        return ResolvedBase(resolve_model_dir(cfg.base))
    try:
        snapshot = model_snapshot(repo_id, cfg.revision)
    except ModelError as exc:
        raise ModelError(f"{exc} (nor is it a local folder)") from None
    if not (snapshot.path / "config.json").is_file():
        raise ModelError(f"model.base: Hub repo {repo_id} (commit {snapshot.revision[:12]}) has no config.json, "
                         f"so it is not a transformers model")
    return ResolvedBase(snapshot.path, hub_id=repo_id, revision=snapshot.revision)


def resolve_base_dir(cfg: ModelConfig) -> Path:
    """The local folder of `model.base`, as `resolve_base`; what every loader of the base model calls."""
    return resolve_base(cfg).path
