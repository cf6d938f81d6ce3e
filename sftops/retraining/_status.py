"""The retrain status the server shows on /v1/drift: the saved state, corrected by whether the lock is held."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..exceptions import SftopsError
from ._lock import holder, is_locked, lock_target
from ._state import load_state


def retrain_status(state_dir: str | Path, lock_url: str | None = None) -> dict[str, Any]:
    """Last retrain (status, reason, version, message); a 'running' state whose lock is free was killed.

    `lock_url`: `drift.retrain.lock_url` when the lock is in PostgreSQL. When the lock cannot be
    probed (its database is down), `running` is None and `lock_error` says why: unknown, not an error."""
    state_dir = Path(state_dir)
    state = load_state(state_dir)
    target = lock_target(state_dir, lock_url)
    out = state.model_dump(mode="json") | {"lock_error": None}
    try:
        running: bool | None = is_locked(target)
        out["holder"] = holder(target) if running else None
    except (SftopsError, OSError) as exc:
        running, out["lock_error"] = None, f"unknown whether a retrain is running: {exc}"
    if state.status == "running" and running is False:
        out["status"], out["message"] = "failed", "interrupted: the retrain process died before finishing (see its MLflow run)"
    return out | {"running": running}
