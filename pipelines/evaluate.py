"""DVC stage `evaluate`: test-split metrics of models/model/ vs the untuned model and TF-IDF -> metrics/eval.json."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser
from sftops.config import load_params
from sftops.data.prepared import load_prepared


def _run(params_file: str) -> None:
    from sftops.evaluation import run_evaluate
    from sftops.tracking import connect

    params = load_params(params_file)
    connect(params.tracking)
    run_evaluate(params, load_prepared())


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("evaluate", __doc__).parse_args(argv)
    return run_guarded("evaluate", lambda: _run(args.params))


if __name__ == "__main__":
    sys.exit(main())
