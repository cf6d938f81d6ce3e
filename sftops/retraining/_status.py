"""The retrain status the server shows on /v1/drift: the saved state, corrected by whether the lock is held."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._lock import holder, is_locked, lock_target
from ._state import load_state


def retrain_status(state_dir: str | Path, lock_url: str | None = None) -> dict[str, Any]:
    """Last retrain (status, reason, version, message); a 'running' state whose lock is free was killed.

    `lock_url`: `drift.retrain.lock_url` when the lock is in PostgreSQL."""
    state_dir = Path(state_dir)
    state = load_state(state_dir)
    target = lock_target(state_dir, lock_url)
    running = is_locked(target)
    status = state.status
    message = state.message
    if status == "running" and not running:
        status, message = "failed", "interrupted: the retrain process died before finishing (see its MLflow run)"
    out = state.model_dump(mode="json") | {"status": status, "message": message, "running": running}
    if running:
        out["holder"] = holder(target)
    return out
