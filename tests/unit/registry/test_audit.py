"""sftops.registry._audit: audit entries round-trip and name their actor; the champion history replays into a stack."""

from __future__ import annotations

import pytest

from sftops.registry import AuditEntry, champion_stack


def _entry(action: str, before: str | None, after: str | None) -> AuditEntry:
    return AuditEntry(action=action, trigger="manual", model="m", version=after or "0",
                      decision="rolled_back" if action == "rollback" else "promoted", reason="r",
                      champion_before=before, champion_after=after)


def test_champion_stack_pushes_promotions_and_pops_rollbacks() -> None:
    history = [_entry("gate", None, "1"), _entry("gate", "1", "2"), _entry("gate", "2", "2"),
               _entry("promote", "2", "3"), _entry("rollback", "3", "2")]
    assert champion_stack(history) == ["1", "2"]
    assert champion_stack([*history, _entry("rollback", "2", "1")]) == ["1"]
    assert champion_stack([*history, _entry("promote", "2", "1")]) == ["1", "2", "1"]


def test_audit_entry_round_trips_and_names_its_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFTOPS_ACTOR", "ci-bot")
    entry = _entry("promote", "1", "2").model_copy(update={"scores": {"2": 0.9, "1": 0.8}})
    assert entry.actor == "ci-bot" and entry.timestamp.endswith("+00:00")
    assert AuditEntry.model_validate_json(entry.model_dump_json()) == entry


def test_champion_stack_skips_abandoned_moves() -> None:
    abandoned = _entry("promote", "1", "2").model_copy(update={"status": "abandoned"})
    assert champion_stack([_entry("gate", None, "1"), abandoned, _entry("promote", "1", "3")]) == ["1", "3"]
