"""`sftops report NAME@ALIAS`: write a registered version's HTML report to a file."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Not built yet (issue 13)."""
    raise SystemExit("sftops report: not built yet")
