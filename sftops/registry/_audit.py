"""The audit trail: every champion decision, as tags on the version and one tag per entry on the registered model.

One tag per entry (`sftops.audit.000001`, ...) keeps each value far below MLflow's tag
length limits however long the history grows, and appending never rewrites old entries.
"""

from __future__ import annotations

import getpass
import os
import socket
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._client import registry_errors

if TYPE_CHECKING:
    from mlflow import MlflowClient

AUDIT_PREFIX = "sftops.audit."
Action = Literal["gate", "promote", "rollback"]
Trigger = Literal["pipeline", "manual", "retrain"]
Decision = Literal["promoted", "rejected", "rolled_back"]


class AuditEntry(BaseModel):
    """One decision about the `champion` alias: what was compared, the scores, the outcome, when, why and by whom."""

    model_config = ConfigDict(extra="forbid")

    seq: int = 0
    timestamp: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    action: Action
    trigger: Trigger
    actor: str = Field(default_factory=lambda: current_actor())
    model: str
    version: str = Field(description="the version the decision is about")
    decision: Decision
    reason: str
    champion_before: str | None
    champion_after: str | None
    metric: str | None = None
    min_improvement: float | None = None
    scores: dict[str, float] = Field(default_factory=dict, description="version -> primary metric on today's test split")
    test_data_hash: str | None = None
    test_samples: int | None = None

    @property
    def champion_changed(self) -> bool:
        return self.champion_before != self.champion_after


def current_actor() -> str:
    """Who acted: $SFTOPS_ACTOR, else user@host."""
    if os.environ.get("SFTOPS_ACTOR"):
        return os.environ["SFTOPS_ACTOR"]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def audit_history(client: "MlflowClient", name: str) -> list[AuditEntry]:
    """Every audit entry of registered model `name`, oldest first."""
    with registry_errors(f"read the audit trail of {name!r}"):
        tags = client.get_registered_model(name).tags
    entries = [AuditEntry.model_validate_json(v) for k, v in tags.items() if k.startswith(AUDIT_PREFIX)]
    return sorted(entries, key=lambda e: e.seq)


def record(client: "MlflowClient", entry: AuditEntry) -> AuditEntry:
    """Append `entry` to the model's history and tag the version with it; return it with its sequence number."""
    history = audit_history(client, entry.model)
    entry = entry.model_copy(update={"seq": (history[-1].seq if history else 0) + 1})
    key = f"{AUDIT_PREFIX}{entry.seq:06d}"
    payload = entry.model_dump_json()
    version_tags = {
        key: payload,
        "sftops.decision": entry.decision,
        "sftops.decision_reason": entry.reason,
        "sftops.decision_action": entry.action,
        "sftops.decision_trigger": entry.trigger,
        "sftops.decision_actor": entry.actor,
        "sftops.decision_time": entry.timestamp,
    }
    with registry_errors(f"write the audit trail of {entry.model!r}"):
        client.set_registered_model_tag(entry.model, key, payload)
        for tag, value in version_tags.items():
            client.set_model_version_tag(entry.model, entry.version, tag, value)
    return entry


def champion_stack(history: list[AuditEntry]) -> list[str]:
    """Champions in the order they took over, replaying promotions (push) and rollbacks (pop)."""
    stack: list[str] = []
    for entry in history:
        if not entry.champion_changed or entry.champion_after is None:
            continue
        if entry.action == "rollback" and len(stack) >= 2 and stack[-2] == entry.champion_after:
            stack.pop()
        else:
            stack.append(entry.champion_after)
    return stack
