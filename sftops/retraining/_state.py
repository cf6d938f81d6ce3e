"""What the last retrain did, kept in `<state_dir>/state.json` for triggers and for the server's /v1/drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..atomic import write_json

STATE_FILE = "state.json"
DRIFT_STATUS_FILE = "drift_status.json"
LOCK_FILE = "retrain.lock"

Outcome = Literal["running", "promoted", "rejected", "unchanged", "failed"]


class RetrainState(BaseModel):
    """The last retrain attempt and the last successful one."""

    model_config = ConfigDict(extra="ignore")

    status: Outcome | None = None
    reason: str | None = None
    message: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    last_success_at: float | None = None
    feedback_cutoff: float = 0.0  # feedback created at or after this is "new"
    run_id: str | None = None
    model_version: str | None = None
    decision: str | None = None
    pid: int | None = None


def load_state(state_dir: str | Path) -> RetrainState:
    """The saved state; a missing or unreadable file means no retrain has run yet."""
    path = Path(state_dir) / STATE_FILE
    try:
        return RetrainState.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError):
        return RetrainState()


def save_state(state_dir: str | Path, state: RetrainState) -> None:
    write_json(Path(state_dir) / STATE_FILE, state.model_dump(mode="json"))


def load_drift_status(state_dir: str | Path) -> dict[str, Any] | None:
    """The drift monitor's last report as the server saved it (None if it never evaluated); for display only:
    a retrain's trigger is the alarm journal (`_alarms`), which a later quiet check cannot overwrite."""
    try:
        return json.loads((Path(state_dir) / DRIFT_STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def save_drift_status(state_dir: str | Path, report: dict[str, Any]) -> None:
    write_json(Path(state_dir) / DRIFT_STATUS_FILE, report)
