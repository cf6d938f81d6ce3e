"""Typed JSON records on disk (manifests, best params, model info): saved atomically, loaded with a clear error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .atomic import atomic_path
from .exceptions import SftopsError

M = TypeVar("M", bound=BaseModel)


def save_record(record: BaseModel, path: str | Path) -> Path:
    """Write `record` as indented JSON, replacing `path` in one rename."""
    with atomic_path(path) as tmp:
        tmp.write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return Path(path)


def load_record(cls: type[M], path: str | Path, error: type[SftopsError], *, missing: str, malformed: str) -> M:
    """Read and validate `path` as `cls`; a missing or malformed file raises `error` with the given hint."""
    path = Path(path)
    try:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as exc:
        raise error(f"{path}: {malformed} ({exc})") from None
