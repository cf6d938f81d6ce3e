"""Bearer-token checks: admin endpoints take the admin token, feedback takes its own token or the admin one.

Tokens come from the settings (env `SFTOPS_SERVE_ADMIN_TOKEN`, `SFTOPS_SERVE_FEEDBACK_TOKEN`); an endpoint
whose tokens are all unset is disabled (403), a missing or wrong token gets 401. Comparisons take constant time.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .state import StateDep

_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _check(credentials: HTTPAuthorizationCredentials | None, tokens: list[str], what: str, disabled: str) -> None:
    if not tokens:
        raise HTTPException(403, disabled)
    sent = credentials.credentials.encode() if credentials is not None else b""
    # every configured token is compared, so the time taken says nothing about which one (or how much) matched
    matches = [hmac.compare_digest(sent, token.encode()) for token in tokens]
    if credentials is None or not any(matches):
        raise HTTPException(401, f"send the {what} as `Authorization: Bearer <token>`", headers={"WWW-Authenticate": "Bearer"})


async def require_admin(state: StateDep, credentials: Credentials) -> None:
    """403 when admin is disabled (no token configured), 401 when the token is missing or wrong."""
    token = state.settings.admin_token
    _check(credentials, [token] if token else [], "admin token",
           "admin endpoints are disabled: set SFTOPS_SERVE_ADMIN_TOKEN (or serve.admin_token)")


async def require_feedback(state: StateDep, credentials: Credentials) -> None:
    """403 when neither a feedback nor an admin token is configured, 401 when the token sent is neither."""
    tokens = [t for t in (state.settings.feedback_token, state.settings.admin_token) if t]
    _check(credentials, tokens, "feedback token (or the admin token)",
           "feedback is disabled: set SFTOPS_SERVE_FEEDBACK_TOKEN (or serve.feedback_token) and send it as a Bearer token")
