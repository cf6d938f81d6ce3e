"""DVC stage `tune`: an Optuna study over params.tune.search_space -> models/best_params.json.

Several `sftops tune` processes (or machines) pointed at one PostgreSQL tune.storage share the study.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser
from sftops.config import load_params
from sftops.data.prepared import load_prepared


def _run(params_file: str) -> None:
    from sftops.tracking import connect
    from sftops.tuning import run_tune

    params = load_params(params_file)
    connect(params.tracking)
    run_tune(params, load_prepared())


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("tune", __doc__).parse_args(argv)
    return run_guarded("tune", lambda: _run(args.params))


if __name__ == "__main__":
    sys.exit(main())
