"""DVC stage `train`: fine-tune with params.yaml + models/best_params.json -> models/model/, metrics/train.json."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser
from sftops.config import load_params
from sftops.data.prepared import load_prepared


def _run(params_file: str, tuned: bool) -> None:
    from sftops.paths import BEST_PARAMS_FILE
    from sftops.tracking import connect
    from sftops.training import run_train

    params = load_params(params_file)
    connect(params.tracking)
    run_train(params, load_prepared(), best_params_file=BEST_PARAMS_FILE if tuned else None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = stage_parser("train", __doc__)
    parser.add_argument("--no-tuned", action="store_true", help="ignore models/best_params.json; use params.yaml as is")
    args = parser.parse_args(argv)
    return run_guarded("train", lambda: _run(args.params, not args.no_tuned))


if __name__ == "__main__":
    sys.exit(main())
