"""sftops.registry._gate: the gate rule, a strict win of at least min_improvement."""

from __future__ import annotations

from sftops.registry import decide


def test_gate_rule_needs_a_strict_win_of_at_least_min_improvement() -> None:
    assert decide(0.80, None, 0.05) == (True, "no champion yet")
    assert decide(0.83, 0.80, 0.05)[0] is False
    assert "by only +0.0300 (< 0.05)" in decide(0.83, 0.80, 0.05)[1]
    assert decide(0.85, 0.80, 0.05)[0] is True
    assert decide(0.80, 0.80, 0.0) == (False, "challenger 0.8000 does not beat champion 0.8000 (+0.0000)")
    assert decide(0.8001, 0.80, 0.0)[0] is True
