"""Manual control of `champion`: promote a chosen version, or roll back to the previous champion; both audited.

Each holds the registry decision lock from reading the champion to writing its audit entry, so two
at once (or one beside a gate) neither lose an entry nor overwrite each other's move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import RegistryConfig
from ..exceptions import RegistryError
from ._audit import Action, AuditEntry, Decision, champion_stack, record, settled_history
from ._bundle import check_bundle
from ._client import CHAMPION, get_version, require_model, version_by_alias
from ._lock import DecisionLock, decision_lock

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion


def _default_lock(name: str) -> DecisionLock:
    """The flock a project with default params uses (registry.lock_file under the current folder)."""
    return decision_lock(RegistryConfig(model_name=name))


def promote(
    client: MlflowClient, name: str, version: str | int, reason: str, lock: DecisionLock | None = None
) -> AuditEntry:
    """Make `version` the champion (after checking its bundle is complete), recording who and why, under `lock`."""
    require_model(client, name)
    target = get_version(client, name, version)
    check_bundle(client, target)
    with lock or _default_lock(name):
        before = version_by_alias(client, name, CHAMPION)
        return _move_champion(client, name, target, "promote", "promoted", reason, str(before.version) if before else None)


def rollback(client: MlflowClient, name: str, reason: str, lock: DecisionLock | None = None) -> AuditEntry:
    """Move `champion` back to the champion before the current one, as the audit trail recorded it, under `lock`."""
    require_model(client, name)
    with lock or _default_lock(name):
        return _rollback(client, name, reason)


def _rollback(client: MlflowClient, name: str, reason: str) -> AuditEntry:
    current = version_by_alias(client, name, CHAMPION)
    if current is None:
        raise RegistryError(f"model {name!r} has no champion to roll back from; set one with `sftops promote`")
    stack = champion_stack(settled_history(client, name))
    current_v = str(current.version)
    if not stack or stack[-1] != current_v:
        raise RegistryError(
            f"champion of {name!r} (version {current_v}) was not set by sftops, so its predecessor is unknown; "
            f"use `sftops promote {name} VERSION --reason ...`"
        )
    if len(stack) < 2:
        raise RegistryError(f"model {name!r} has had no champion before version {current_v}; nothing to roll back to")
    previous = get_version(client, name, stack[-2])
    check_bundle(client, previous)
    return _move_champion(client, name, previous, "rollback", "rolled_back", reason, current_v)


def _move_champion(
    client: MlflowClient, name: str, target: ModelVersion, action: Action, decision: Decision, reason: str,
    before: str | None,
) -> AuditEntry:
    """Point `champion` at `target` through the audit trail, as the manual decision."""
    entry = AuditEntry(
        action=action, trigger="manual", model=name, version=str(target.version), decision=decision,
        reason=reason, champion_before=before, champion_after=str(target.version),
    )
    return record(client, entry)
