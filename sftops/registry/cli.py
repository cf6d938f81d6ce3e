"""`sftops promote NAME VERSION --reason ...` and `sftops rollback NAME [--reason ...]`: audited moves of `champion`.

NAME is read by the one model-reference parser (sftops.registry.ModelRef), so `models:/NAME`, and for
promote `NAME/VERSION` or `models:/NAME/VERSION` in place of NAME VERSION, work as everywhere else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..cli import run_guarded
from ..exceptions import RegistryError

MULTI_COMMAND = True  # sftops.cli passes the command name ("promote" or "rollback") first
COMMAND_HELP = {  # `sftops --help` reads these without importing this module
    "promote": "Move the champion alias to a version (audited)",
    "rollback": "Move the champion alias back to the previous champion (audited)",
}


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"sftops {command}",
        description="Move the `champion` alias of a registered model; the move is recorded in its audit trail.",
    )
    parser.add_argument("--params", default="params.yaml", help="params file for the tracking URI (default: params.yaml)")
    if command == "promote":
        parser.add_argument("name", metavar="NAME", help="registered model name (or NAME/VERSION, models:/NAME/VERSION)")
        parser.add_argument("version", metavar="VERSION", nargs="?", help="version number to make champion")
        parser.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    else:
        parser.add_argument("name", metavar="NAME", help="registered model name (or models:/NAME)")
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

        name, version = _target(command, args.name, getattr(args, "version", None))
        params = load_params(args.params)
        client = registry_client(connect(params.tracking), params.tracking.connect_timeout)
        lock = decision_lock(params.registry.model_copy(update={"model_name": name}), Path(args.params).parent)
        if version is not None:
            entry = promote(client, name, version, args.reason, lock=lock)
        else:
            entry = rollback(client, name, args.reason, lock=lock)
        print(f"{name}: champion is now version {entry.champion_after} "
              f"(was {entry.champion_before}); audit entry {entry.seq}")

    return run_guarded(command, run)


def _target(command: str, model: str, version: str | None) -> tuple[str, str | None]:
    """(model name, version to promote or None for a rollback) from the command line's NAME [VERSION].

    Raises:
        RegistryError: NAME is no model reference, names an alias other than champion, or the version is
            missing (promote), given twice differently, or given at all (rollback).
    """
    from . import CHAMPION, ModelRef

    ref = ModelRef.parse(model)
    if ref.alias not in (None, CHAMPION):
        raise RegistryError(f"{model!r}: `sftops {command}` moves {CHAMPION!r}; give NAME or NAME/VERSION, not another alias")
    if ref.version is not None and version is not None and ref.version != version:
        raise RegistryError(f"{model!r} names version {ref.version} but VERSION is {version}; give one of them")
    version = version or ref.version
    if command == "promote" and version is None:
        raise RegistryError(f"which version of {ref.name!r}? `sftops promote {ref.name} VERSION --reason ...`")
    if command == "rollback" and version is not None:
        raise RegistryError(f"rollback goes back to the previous champion; give NAME, not {model!r}")
    return ref.name, version


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
