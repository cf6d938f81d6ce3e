"""Load, clean, label-map and split the dataset into data/prepared/.

`sftops prepare` and DVC stage `prepare`: parse the arguments, call `sftops.stages.prepare` on the working folder.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("prepare", __doc__).parse_args(argv)

    def run() -> None:
        from sftops.config import load_params
        from sftops.stages import prepare

        prepare(".", load_params(args.params))

    return run_guarded("prepare", run)


if __name__ == "__main__":
    sys.exit(main())
