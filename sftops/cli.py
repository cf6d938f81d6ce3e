"""The `sftops` command: one subcommand per pipeline stage or operation.

Heavy libraries (torch, transformers, mlflow) are imported only by the subcommand
that runs, so `sftops --help` answers instantly. Every user-caused error
(`SftopsError`) becomes one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from .exceptions import SftopsError

# name -> (module whose main(argv) runs it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("pipelines.prepare", "load, clean, label-map and split the dataset into data/prepared/"),
    "tune": ("pipelines.tune", "Optuna search over the params' search space; writes models/best_params.json"),
    "train": ("pipelines.train", "fine-tune with the best params; writes models/model/"),
    "evaluate": ("pipelines.evaluate", "test-set metrics vs. the untuned model and a TF-IDF baseline"),
    "register": ("pipelines.register", "register the model in MLflow and run the promotion gate"),
    "export": ("pipelines.export", "export the model to ONNX, check parity, build variants"),
    "promote": ("sftops.registry.cli", "move the champion alias to a version (audited)"),
    "rollback": ("sftops.registry.cli", "move the champion alias back to the previous champion (audited)"),
    "serve": ("serving.cli", "serve a registered model over HTTP with ONNX Runtime"),
    "retrain": ("sftops.retraining.cli", "merge feedback and rerun the pipeline if a trigger fired"),
}


def stage_parser(command: str, description: str) -> argparse.ArgumentParser:
    """An argument parser for a pipeline stage: every stage reads --params (default params.yaml)."""
    parser = argparse.ArgumentParser(prog=f"sftops {command}", description=description)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return parser


def run_guarded(command: str, func: Callable[[], None]) -> int:
    """Run `func`; turn a user-caused error into one line on stderr and exit code 1.

    No URL password gets out: log records, the error line and a bug's traceback are all scrubbed."""
    from .dburl import scrub
    from .redaction import install_log_redaction, redacted_traceback

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


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sftops",
        description="Supervised fine-tuning wired into DVC, MLflow, Optuna and ONNX Runtime.",
        epilog="Each stage reads params.yaml from the working folder (--params PATH for another). "
        "`dvc repro` runs the stages in order.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sftops` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _top_parser()
    if not argv or argv[0] in ("-h", "--help", "--version"):
        parser.parse_args(argv or ["--help"])
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        parser.error(f"unknown command {command!r}; choose from {', '.join(COMMANDS)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    module_name = COMMANDS[command][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            print(f"sftops {command}: not available in this version", file=sys.stderr)
            return 2
        raise
    entry = getattr(module, "main")
    # modules serving several commands (promote/rollback) take the command name first
    result = entry([command, *rest]) if getattr(module, "MULTI_COMMAND", False) else entry(rest)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
