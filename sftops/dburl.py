"""Database locations in params: a file path (SQLite) or a URL (PostgreSQL), the URL SQLAlchemy should get,
and the same URL with its password hidden, for anything a person or a log may read."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

HIDDEN = "***"
# scheme://user:password@ inside any text; the password ends at the last "@" before the host
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/@]*):(?P<password>[^\s/]*)@(?=[^\s@/]*(?:[/?#\s]|$))")
_ENV_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


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


def _hide(match: re.Match[str]) -> str:
    password = match.group("password")
    kept = password if _ENV_REF.fullmatch(password) else HIDDEN  # `${VAR}` names a secret, it is not one
    return f"{match.group('head')}:{kept}@"


def scrub(text: str) -> str:
    """`text` with the password of every `scheme://user:password@host` in it replaced by ***.

    For text we did not write ourselves (a driver's or MLflow's error message, a log line)."""
    return _USERINFO.sub(_hide, text) if "://" in text else text


def redact(url: str) -> str:
    """The URL without its password, for messages and logs; a `${VAR}` reference is shown as written."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not parseable as a URL (e.g. an unclosed IPv6 bracket): hide what looks like credentials
        return scrub(url)
    if password is None or _ENV_REF.fullmatch(password):
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{HIDDEN}@{host}"))


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(the URL without `user:password@`, user, password), the last two unquoted; (url, None, None) without a user."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, None
    bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return bare, unquote(parts.username), None if parts.password is None else unquote(parts.password)
