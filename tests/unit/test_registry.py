"""The registry's pure parts: gate rule, champion history replay, model references, audit entries."""

from __future__ import annotations

import pytest

from sftops.exceptions import RegistryError
from sftops.registry import AuditEntry, ModelRef, champion_stack, decide


def test_gate_rule_needs_a_strict_win_of_at_least_min_improvement() -> None:
    assert decide(0.80, None, 0.05) == (True, "no champion yet")
    assert decide(0.83, 0.80, 0.05)[0] is False
    assert "by only +0.0300 (< 0.05)" in decide(0.83, 0.80, 0.05)[1]
    assert decide(0.85, 0.80, 0.05)[0] is True
    assert decide(0.80, 0.80, 0.0) == (False, "challenger 0.8000 does not beat champion 0.8000 (+0.0000)")
    assert decide(0.8001, 0.80, 0.0)[0] is True


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


@pytest.mark.parametrize(("ref", "expected"), [
    ("m", ("m", "champion", None)),
    ("m@challenger", ("m", "challenger", None)),
    ("m/3", ("m", None, "3")),
    ("models:/my.model-1@champion", ("my.model-1", "champion", None)),
    ("models:/m/12", ("m", None, "12")),
])
def test_model_references(ref: str, expected: tuple) -> None:
    parsed = ModelRef.parse(ref)
    assert (parsed.name, parsed.alias, parsed.version) == expected
    assert ModelRef.parse(str(parsed)) == ModelRef.parse(parsed.uri) == parsed


def test_a_reference_names_an_alias_or_a_version() -> None:
    assert ModelRef("m") == ModelRef("m", alias="champion")
    assert ModelRef.parse("m", default_alias="staging") == ModelRef("m", alias="staging")
    with pytest.raises(RegistryError, match="an alias or a version, not both"):
        ModelRef("m", alias="champion", version="3")


@pytest.mark.parametrize("ref", ["", "m/abc", "m@a@b", "models:/"])
def test_bad_model_references(ref: str) -> None:
    with pytest.raises(RegistryError, match="is not NAME, NAME@ALIAS"):
        ModelRef.parse(ref)


def test_audit_entry_round_trips_and_names_its_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFTOPS_ACTOR", "ci-bot")
    entry = _entry("promote", "1", "2").model_copy(update={"scores": {"2": 0.9, "1": 0.8}})
    assert entry.actor == "ci-bot" and entry.timestamp.endswith("+00:00")
    assert AuditEntry.model_validate_json(entry.model_dump_json()) == entry


def test_champion_stack_skips_abandoned_moves() -> None:
    abandoned = _entry("promote", "1", "2").model_copy(update={"status": "abandoned"})
    assert champion_stack([_entry("gate", None, "1"), abandoned, _entry("promote", "1", "3")]) == ["1", "3"]
