"""The `sftops` command: one subcommand per pipeline stage or operation.

Subcommands are found through the `sftops.commands` entry-point group (pyproject.toml), so this module names
no package above `sftops` (the stage scripts in `sftops_pipelines`, the server in `sftops_serving`). A command's
one-line help is read from its module's source without importing it (`command_help`), so `sftops --help`
answers instantly; heavy libraries load only for the command that runs. Every user-caused error
(`SftopsError`) becomes one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from .exceptions import SftopsError

GROUP = "sftops.commands"
# --help lists these first, in pipeline order; any other command follows alphabetically
_ORDER = ("source", "prepare", "tune", "train", "evaluate", "export", "register")


def commands() -> dict[str, EntryPoint]:
    """The installed subcommands: name -> entry point of its `main(argv)`."""
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    rank = {name: i for i, name in enumerate(_ORDER)}
    return {name: found[name] for name in sorted(found, key=lambda n: (rank.get(n, len(rank)), n))}


def command_help(name: str, entry: EntryPoint) -> str:
    """A command's one-line help, read from its module's source without importing it.

    `COMMAND_HELP = {"name": "..."}` in the module if it has one (a module serving several commands), else the
    first line of its docstring."""
    try:
        spec = importlib.util.find_spec(entry.module)
        origin = spec.origin if spec else None
        tree = ast.parse(Path(origin).read_text(encoding="utf-8")) if origin else None
    except (ImportError, OSError, SyntaxError, ValueError):
        tree = None
    if tree is None:
        return "(not available in this version)"
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "COMMAND_HELP" for t in node.targets):
            with contextlib.suppress(ValueError):
                table = ast.literal_eval(node.value)
                if isinstance(table, dict) and isinstance(table.get(name), str):
                    return table[name]
    doc = ast.get_docstring(tree)
    return doc.strip().splitlines()[0].rstrip(".") if doc else ""


def stage_parser(command: str, description: str | None) -> argparse.ArgumentParser:
    """An argument parser for a pipeline stage: every stage reads --params (default params.yaml)."""
    parser = argparse.ArgumentParser(prog=f"sftops {command}", description=description)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return parser


def run_guarded(command: str, func: Callable[[], None]) -> int:
    """Run `func`; turn a user-caused error into one line on stderr and exit code 1.

    No URL password gets out: log records, the error line and a bug's traceback are all scrubbed."""
    from .console import setup_console
    from .dburl import scrub
    from .redaction import install_log_redaction, redacted_traceback

    setup_console()
    install_log_redaction()
    try:
        func()
    except SftopsError as exc:
        print(f"sftops {command}: error: {scrub(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sftops {command}: interrupted; outputs of this stage were not replaced", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: keep its traceback (scrubbed) and Python's exit code
        print(redacted_traceback(exc), end="", file=sys.stderr)
        return 1
    return 0


def _top_parser(available: dict[str, EntryPoint]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sftops",
        description="Supervised fine-tuning wired into DVC, MLflow, Optuna and ONNX Runtime.",
        epilog="Each stage reads params.yaml from the working folder (--params PATH for another). "
        "`dvc repro` runs the stages in order.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, entry in available.items():
        sub.add_parser(name, help=command_help(name, entry), add_help=False)
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sftops` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    available = commands()
    if not argv or argv[0] in ("-h", "--help", "--version"):
        _top_parser(available).parse_args(argv or ["--help"])
        return 0
    command, rest = argv[0], argv[1:]
    if command not in available:
        _top_parser(available).error(f"unknown command {command!r}; choose from {', '.join(available)}")
    from .console import setup_console

    setup_console()
    entry = available[command]
    try:
        module = importlib.import_module(entry.module)
    except ModuleNotFoundError as exc:
        if exc.name and entry.module.startswith(exc.name):
            print(f"sftops {command}: not available in this version", file=sys.stderr)
            return 2
        raise
    func = getattr(module, entry.attr)
    # modules serving several commands (promote/rollback) take the command name first
    result = func([command, *rest]) if getattr(module, "MULTI_COMMAND", False) else func(rest)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
