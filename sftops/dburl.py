"""Database locations in params: a file path (SQLite) or a URL (PostgreSQL), and the URL SQLAlchemy should get."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def storage_url(url: str) -> str:
    """SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; use psycopg2 (our dependency) when psycopg is absent."""
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None:
        return "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def is_url(location: str | Path) -> bool:
    """True for `scheme://...` (a database server), False for a file path."""
    return isinstance(location, str) and "://" in location


def is_postgres(location: str | Path) -> bool:
    return is_url(location) and str(location).startswith(("postgresql://", "postgresql+"))


def resolve(location: str | Path, base: str | Path) -> str | Path:
    """A URL as is; a relative file path below `base` (the project folder)."""
    return str(location) if is_url(location) else Path(base) / location


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable as a URL: keep only what follows any credentials
        return url.split("@")[-1]
