"""`sftops report NAME@ALIAS`: write a registered version's HTML report to a file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..cli import run_guarded

COMMAND_HELP = {"report": "Write a registered version's self-contained HTML report to a file"}  # read by `sftops --help`


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sftops report",
        description="Write the self-contained HTML report of a registered model version (per-label scores, "
                    "champion comparison, calibration, mistakes, tuning, export variants), read from MLflow.",
    )
    parser.add_argument("model", metavar="NAME@ALIAS", help="NAME@ALIAS, NAME/VERSION or models:/... (NAME alone: champion)")
    parser.add_argument("-o", "--output", type=Path, help="HTML file to write (default: report-NAME-vVERSION.html)")
    parser.add_argument("--params", default="params.yaml", help="params file for the tracking URI (default: params.yaml)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Resolve the reference against the tracking server of --params and write its report."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))

    def run() -> None:
        from ..config import load_params
        from ..registry import ModelRef, registry_client
        from ..tracking import connect
        from ._report import write_report

        ref = ModelRef.parse(args.model)
        params = load_params(args.params)
        client = registry_client(connect(params.tracking), params.tracking.connect_timeout)
        evidence, out = write_report(client, ref, args.output)
        missing = "; ".join(f"{k}: {v}" for k, v in evidence.notes.items())
        print(f"{ref} (version {evidence.version.version}) -> {out}" + (f" (missing: {missing})" if missing else ""))

    return run_guarded("report", run)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
