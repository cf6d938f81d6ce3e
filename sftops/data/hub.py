"""Hugging Face Hub repos (base models and datasets) resolved through huggingface_hub's local cache.

`hub_snapshot` is the one way a Hub id becomes a local folder: online it downloads the snapshot once
into the Hub cache (HF_HUB_CACHE); offline (HF_HUB_OFFLINE=1, or no network) it returns the cached
snapshot. The snapshot folder's name is the resolved commit hash, which lineage and the `source`
fingerprint record. A Hub dataset is then read by `datasets.load_dataset` from that snapshot folder (its
configs, data files and the arrow cache in HF_DATASETS_CACHE work as for a Hub id); datasets' own Hub
path refuses to load offline unless that exact build is already in its arrow cache, so going through the
snapshot is what lets a warm Hub cache work offline.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from ..config import DataConfig
from ..exceptions import DataError, ModelError

log = logging.getLogger(__name__)

RepoType = Literal["model", "dataset"]

# "name" or "owner/name" (the Hub's id syntax); anything else is only ever a local path
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
# files no transformers Auto class reads: other frameworks' weights and exports (a big share of many repos)
_NOT_TORCH = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "*.onnx_data", "*.tflite", "*.gguf", "*.mlmodel", "*.mlpackage/*",
              "onnx/*", "openvino/*", "coreml/*", "tf_model*", "flax_model*", "rust_model*"]


@dataclass(frozen=True)
class HubSnapshot:
    """A Hub repo at a resolved commit, as a folder in the local Hub cache."""

    repo_id: str
    repo_type: RepoType
    path: Path
    revision: str  # the commit hash


def is_hub_id(name: str) -> bool:
    """Whether `name` has the form of a Hub repo id (`name` or `owner/name`); says nothing about it existing."""
    return bool(_HUB_ID.match(name)) and ".." not in name


def hub_snapshot(repo_id: str, repo_type: RepoType, revision: str | None, *, key: str,
                 local_only: bool = False, ignore: list[str] | None = None) -> HubSnapshot:
    """`repo_id` at `revision` (None: the default branch) in the local Hub cache, downloaded once when online.

    `key` names the params key in errors. `local_only`: never touch the network (a cache miss is an error).
    Raises ModelError (repo_type "model") or DataError ("dataset"), one line naming the id and the fix."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    error = ModelError if repo_type == "model" else DataError
    shown = f"{repo_id}@{revision}" if revision else repo_id
    kind = "model" if repo_type == "model" else "dataset"
    try:
        path = snapshot_download(repo_id, repo_type=repo_type, revision=revision, local_files_only=local_only,
                                 ignore_patterns=ignore)
    except GatedRepoError:
        raise error(f"{key}: {shown} is a gated {kind} on the Hugging Face Hub; accept its terms on huggingface.co "
                    f"and log in (`hf auth login` or HF_TOKEN), then rerun") from None
    except RevisionNotFoundError:
        raise error(f"{key}: {repo_id} has no revision {revision!r} on the Hugging Face Hub; "
                    f"give an existing branch, tag or commit hash") from None
    except RepositoryNotFoundError:
        raise error(f"{key}: no {kind} {repo_id!r} on the Hugging Face Hub (or it is private); check the id, "
                    f"or log in (`hf auth login`) for a private one") from None
    except LocalEntryNotFoundError:
        raise error(f"{key}: {shown} is not in the local Hugging Face cache and the Hub cannot be reached "
                    f"(offline: HF_HUB_OFFLINE=1 or no network); run once online to download it, or point "
                    f"HF_HUB_CACHE at a cache that holds it") from None
    except (HfHubHTTPError, ValueError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise error(f"{key}: cannot fetch {kind} {shown} from the Hugging Face Hub ({first})") from None
    snapshot = Path(path)
    return HubSnapshot(repo_id=repo_id, repo_type=repo_type, path=snapshot, revision=snapshot.name)


def hub_model_id(base: str) -> str | None:
    """`model.base` when it names a Hub model (an id that is not an existing local folder nor builtin:), else None."""
    if base.startswith("builtin:") or Path(base).expanduser().exists() or not is_hub_id(base):
        return None
    return base


def cached_model_revision(base: str, revision: str | None) -> str | None:
    """The commit hash of a Hub `model.base` in the local cache, without network; None for a local or uncached base."""
    repo_id = hub_model_id(base)
    if repo_id is None:
        return None
    try:
        return model_snapshot(repo_id, revision, local_only=True).revision
    except ModelError:
        return None


def model_snapshot(repo_id: str, revision: str | None, *, local_only: bool = False) -> HubSnapshot:
    """A Hub model's snapshot with what transformers loads: safetensors weights (else pytorch_model.bin), config, tokenizer."""
    snapshot = hub_snapshot(repo_id, "model", revision, key="model.base", local_only=local_only,
                            ignore=[*_NOT_TORCH, "*.bin", "*.pt", "*.pth"])
    if not any(snapshot.path.glob("*.safetensors")):  # an older repo with only PyTorch pickles
        snapshot = hub_snapshot(repo_id, "model", snapshot.revision, key="model.base", local_only=local_only,
                                ignore=_NOT_TORCH)
    return snapshot


def dataset_snapshot(cfg: DataConfig, *, local_only: bool = False) -> HubSnapshot:
    """The snapshot of `data.source`'s Hub dataset. Raises DataError (not a Hub source, or as `hub_snapshot`)."""
    source = cfg.hub_source
    if source is None:
        raise DataError("data.source is not a Hugging Face Hub dataset")
    return hub_snapshot(source.hub, "dataset", source.revision, key="data.source", local_only=local_only)


def cached_dataset_revision(cfg: DataConfig) -> str | None:
    """The commit hash of `data.source`'s Hub dataset in the local cache, without network; None when not a Hub
    source or not cached."""
    if cfg.hub_source is None:
        return None
    try:
        return dataset_snapshot(cfg, local_only=True).revision
    except DataError:
        return None


def load_hub_splits(cfg: DataConfig) -> tuple[dict[str, pd.DataFrame], HubSnapshot]:
    """`data.source`'s Hub dataset as one frame per split (train / validation / test) and its snapshot.

    The dataset's splits are mapped by `splits` (ours -> the dataset's) or, when not given, by the names in
    `data.split_values`; dataset splits mapped to none are not loaded. ClassLabel columns (and lists of
    ClassLabel) hold their names, not ids. Raises DataError."""
    import datasets

    source = cfg.hub_source
    assert source is not None
    snapshot = dataset_snapshot(cfg)
    bars_were_on = not datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()  # a "Generating <split> split" bar per split and run is noise; the stage says what it read
    try:
        loaded = datasets.load_dataset(str(snapshot.path), name=source.config)
    except (ValueError, FileNotFoundError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"data.source: cannot load Hub dataset {source.hub} ({first}); check data.source.config") from None
    finally:
        if bars_were_on:
            datasets.enable_progress_bars()
    assert isinstance(loaded, datasets.DatasetDict)
    mapping = source.splits or _default_mapping(list(loaded), cfg)
    missing = {ours: theirs for ours, theirs in mapping.items() if theirs not in loaded}
    if missing:
        raise DataError(f"data.source: Hub dataset {source.hub} has no split(s) {sorted(missing.values())}; its splits "
                        f"are {sorted(loaded)}; set data.source.splits")
    if "train" not in mapping:
        raise DataError(f"data.source: no split of Hub dataset {source.hub} (splits {sorted(loaded)}) is the training "
                        f"split; set data.source.splits.train")
    skipped = sorted(set(loaded) - set(mapping.values()))
    if skipped:
        log.info("Hub dataset %s: split(s) %s not used (not in data.source.splits)", source.hub, skipped)
    return {ours: _named_frame(loaded[theirs]) for ours, theirs in mapping.items()}, snapshot


def _default_mapping(names: list[str], cfg: DataConfig) -> dict[str, str]:
    """Ours -> the dataset's split, by `data.split_values` (case-insensitive): the first listed name present wins."""
    lookup = {name.lower(): name for name in names}
    mapping: dict[str, str] = {}
    for ours, listed in cfg.split_values.items():
        found = next((lookup[v.strip().lower()] for v in listed if v.strip().lower() in lookup), None)
        if found is not None:
            mapping[ours] = found
    return mapping


def _named_frame(split) -> pd.DataFrame:
    """A datasets split as pandas, with the names of ClassLabel values (also inside lists) in place of their ids."""
    import datasets

    frame = split.to_pandas()
    for column, feature in split.features.items():
        inner = getattr(feature, "feature", None)
        if isinstance(feature, list) and feature:
            inner = feature[0]
        if isinstance(feature, datasets.ClassLabel):
            names = feature.names
            frame[column] = frame[column].map(lambda v, n=names: n[int(v)] if v is not None and 0 <= int(v) < len(n) else v)
        elif isinstance(inner, datasets.ClassLabel):
            names = inner.names
            frame[column] = frame[column].map(
                lambda vs, n=names: None if vs is None else [n[int(v)] if 0 <= int(v) < len(n) else v for v in vs])
    return frame
