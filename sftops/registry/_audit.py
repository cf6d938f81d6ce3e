"""The audit trail: every champion decision, as tags on the version and one tag per entry on the registered model.

The version's description says the latest decision in words (`_describe`); the tags are the record.
One tag per entry (`sftops.audit.000001`, ...) keeps each value far below MLflow's tag
length limits however long the history grows, and appending never rewrites old entries.

A decision that moves the alias is written ahead: the entry goes in as `pending`, then
the alias moves, then the entry becomes `applied`. MLflow has no transaction over the
two, so a crash in between leaves a pending entry, and the next decision settles it by
looking at where `champion` points: `applied` if the move happened, else `abandoned`.

Entry numbers are read-max-plus-one, so decisions must not overlap: callers hold the registry
decision lock (`sftops.registry._lock`) around reading the state, `record` and the alias move.
"""

from __future__ import annotations

import getpass
import os
import socket
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._client import CHAMPION, registry_errors, version_by_alias
from ._describe import version_description

if TYPE_CHECKING:
    from mlflow import MlflowClient

AUDIT_PREFIX = "sftops.audit."
Action = Literal["gate", "promote", "rollback"]
Trigger = Literal["pipeline", "manual", "retrain"]
Decision = Literal["promoted", "rejected", "rolled_back"]
Status = Literal["pending", "applied", "abandoned"]


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
    variants: dict[str, str] = Field(default_factory=dict, description="version -> bundle variant the gate scored (as it serves)")
    devices: dict[str, str] = Field(default_factory=dict, description="version -> device that variant was scored on")
    test_overlap: dict[str, int | None] = Field(
        default_factory=dict, description="version -> test texts that version trained on (None: its bundle does not say)"
    )
    status: Status = Field(
        "applied", description="pending: written before the alias move, not yet confirmed; abandoned: the move never happened"
    )

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


def audit_history(client: MlflowClient, name: str) -> list[AuditEntry]:
    """Every audit entry of registered model `name`, oldest first."""
    with registry_errors(f"read the audit trail of {name!r}"):
        tags = client.get_registered_model(name).tags
    entries = [AuditEntry.model_validate_json(v) for k, v in tags.items() if k.startswith(AUDIT_PREFIX)]
    return sorted(entries, key=lambda e: e.seq)


def settled_history(client: MlflowClient, name: str) -> list[AuditEntry]:
    """The audit trail with a pending last entry (a decision interrupted mid-way) settled against the alias."""
    history = audit_history(client, name)
    if history and history[-1].status == "pending":
        last = history[-1]
        with registry_errors(f"read the {CHAMPION!r} alias of {name!r}"):
            current = version_by_alias(client, name, CHAMPION)
        moved = current is not None and str(current.version) == last.champion_after
        settled = last.model_copy(update={"status": "applied" if moved else "abandoned"})
        history[-1] = _write(client, settled, version_tags=moved)  # an abandoned move decided nothing about its version
    return history


def record(client: MlflowClient, entry: AuditEntry) -> AuditEntry:
    """Append `entry` to the model's history, move `champion` as it decides, and tag the version with it.

    Returns the entry with its sequence number. An entry that changes the champion is written
    ahead (pending), then the alias moves, then the entry is marked applied. Call it under the
    registry decision lock: the number is the last one plus one.
    """
    history = settled_history(client, entry.model)
    entry = entry.model_copy(update={"seq": (history[-1].seq if history else 0) + 1, "status": "applied"})
    if entry.champion_changed and entry.champion_after is not None:
        _write(client, entry.model_copy(update={"status": "pending"}), version_tags=False)
        with registry_errors(f"set alias {CHAMPION!r} on {entry.model!r} version {entry.champion_after}"):
            client.set_registered_model_alias(entry.model, CHAMPION, entry.champion_after)
    return _write(client, entry)


def _write(client: MlflowClient, entry: AuditEntry, version_tags: bool = True) -> AuditEntry:
    key = f"{AUDIT_PREFIX}{entry.seq:06d}"
    payload = entry.model_dump_json()
    tags = {
        key: payload,
        "sftops.decision": entry.decision,
        "sftops.decision_reason": entry.reason,
        "sftops.decision_action": entry.action,
        "sftops.decision_trigger": entry.trigger,
        "sftops.decision_actor": entry.actor,
        "sftops.decision_time": entry.timestamp,
    }
    with registry_errors(f"write the audit trail of {entry.model!r}"):
        if version_tags:
            for tag, value in tags.items():
                client.set_model_version_tag(entry.model, entry.version, tag, value)
            # the readable summary a person sees first on the version page; the tags above stay the record
            version = client.get_model_version(entry.model, entry.version)
            client.update_model_version(entry.model, entry.version, version_description(entry, version.tags))
        client.set_registered_model_tag(entry.model, key, payload)  # last: the model's entry is the commit record
    return entry


def champion_stack(history: list[AuditEntry]) -> list[str]:
    """Champions in the order they took over, replaying promotions (push) and rollbacks (pop)."""
    stack: list[str] = []
    for entry in history:
        if entry.status == "abandoned" or not entry.champion_changed or entry.champion_after is None:
            continue
        if entry.action == "rollback" and len(stack) >= 2 and stack[-2] == entry.champion_after:
            stack.pop()
        else:
            stack.append(entry.champion_after)
    return stack
