"""Credentials stay out of params.yaml: a URL param may say `${VAR}`, filled from the environment where it is used.

Parsing, hashing and logging see the URL as written (`postgresql://sftops:${SFTOPS_DB_PASSWORD}@db/optuna`),
so dvc.lock and MLflow hold the reference, never the secret; `expand_env` fills it in at the one place that
connects. A reference inside a URL's user:password part is percent-encoded, so any password works as it is.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Annotated
from urllib.parse import quote

from pydantic import AfterValidator

from ..dburl import split_credentials
from ..exceptions import ConfigError

log = logging.getLogger(__name__)
_warned: set[str] = set()
_REF = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_env_refs(value: str) -> str:
    """Reject a malformed `${...}` at parse time, before any work starts."""
    for match in _REF.finditer(value):
        if not _NAME.fullmatch(match.group(1)):
            raise ValueError(f"${{{match.group(1)}}} is not an environment variable reference; write ${{NAME}} "
                             "with NAME made of letters, digits and _")
    if "${" in _REF.sub("", value):
        raise ValueError("unclosed ${ ; write ${NAME} to take a value from the environment variable NAME")
    return value


EnvStr = Annotated[str, AfterValidator(check_env_refs)]
"""A params string that may hold `${VAR}` references to environment variables (expanded when used)."""


def _userinfo_span(value: str) -> tuple[int, int]:
    """Where `user:password` sits in `scheme://user:password@host/...` ((0, 0) when there is none)."""
    scheme_end = value.find("://")
    if scheme_end < 0:
        return 0, 0
    start = scheme_end + 3
    authority_end = value.find("/", start)
    at = value.rfind("@", start, authority_end if authority_end >= 0 else len(value))
    return (start, at) if at >= 0 else (0, 0)


def _warn_literal_password(value: str, key: str) -> None:
    """Once per key and process: a password written into params.yaml is in git; say how to move it out."""
    try:
        password = split_credentials(value)[2]
    except ValueError:
        return
    if password and not _REF.fullmatch(password) and key not in _warned:
        _warned.add(key)
        log.warning("%s holds a credential written into the params file: sftops keeps it out of MLflow, dvc.lock and "
                    "logs, but it stays in that file and its git history; write ${NAME} in its place and export NAME", key)


def expand_env(value: str, key: str) -> str:
    """`value` with each `${VAR}` replaced by the variable's value; a ConfigError naming `key` and VAR if unset."""
    _warn_literal_password(value, key)
    if "${" not in value:
        return value
    start, end = _userinfo_span(value)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"{key}: environment variable {name} is not set; export {name} "
                              f"(the value of {key} refers to it as ${{{name}}}) and retry")
        found = os.environ[name]
        return quote(found, safe="") if start <= match.start() < end else found

    return _REF.sub(fill, value)
