"""Optuna search over the params' search space; writes models/best_params.json.

`sftops tune` and DVC stage `tune`: parse the arguments, call `sftops.stages.tune` on the working folder.
Several `sftops tune` processes (or machines) pointed at one PostgreSQL tune.storage share the study.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("tune", __doc__).parse_args(argv)

    def run() -> None:
        from sftops.config import load_params
        from sftops.stages import tune

        tune(".", load_params(args.params))

    return run_guarded("tune", run)


if __name__ == "__main__":
    sys.exit(main())
