"""`sftops promote NAME VERSION --reason ...` and `sftops rollback NAME [--reason ...]`: audited moves of `champion`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..cli import run_guarded

MULTI_COMMAND = True  # sftops.cli passes the command name ("promote" or "rollback") first


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"sftops {command}",
        description="Move the `champion` alias of a registered model; the move is recorded in its audit trail.",
    )
    parser.add_argument("--params", default="params.yaml", help="params file for the tracking URI (default: params.yaml)")
    parser.add_argument("name", metavar="NAME", help="registered model name")
    if command == "promote":
        parser.add_argument("version", metavar="VERSION", help="version number to make champion")
        parser.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    else:
        parser.add_argument("--reason", default="manual rollback", help="why (kept in the audit trail)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `promote` or `rollback` (argv[0]) against the registry named by --params' tracking section."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("promote", "rollback"):
        print("usage: sftops {promote,rollback} ...", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    args = _parser(command).parse_args(rest)

    def run() -> None:
        from ..config import load_params
        from ..tracking import connect
        from . import decision_lock, promote, registry_client, rollback

        params = load_params(args.params)
        client = registry_client(connect(params.tracking), params.tracking.connect_timeout)
        lock = decision_lock(params.registry.model_copy(update={"model_name": args.name}), Path(args.params).parent)
        if command == "promote":
            entry = promote(client, args.name, args.version, args.reason, lock=lock)
        else:
            entry = rollback(client, args.name, args.reason, lock=lock)
        print(f"{args.name}: champion is now version {entry.champion_after} "
              f"(was {entry.champion_before}); audit entry {entry.seq}")

    return run_guarded(command, run)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
