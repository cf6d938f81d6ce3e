"""Fine-tune with the best params; writes models/model/.

`sftops train` and DVC stage `train`: parse the arguments, call `sftops.stages.train` on the working folder.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = stage_parser("train", __doc__)
    parser.add_argument("--no-tuned", action="store_true", help="ignore models/best_params.json; use params.yaml as is")
    args = parser.parse_args(argv)

    def run() -> None:
        from sftops.config import load_params
        from sftops.stages import train

        train(".", load_params(args.params), tuned=not args.no_tuned)

    return run_guarded("train", run)


if __name__ == "__main__":
    sys.exit(main())
