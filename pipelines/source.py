"""Fingerprint the raw data source into data/source.json, so that editing the dataset reruns prepare.

`sftops source` and DVC stage `source` (always run): parse the arguments, call `sftops.stages.source` on the
working folder. data/source.json holds the sha256 of data.source and of every file data.extra_sources matches;
it changes only when the data does.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("source", __doc__).parse_args(argv)

    def run() -> None:
        from sftops.config import load_params
        from sftops.stages import source

        source(".", load_params(args.params))

    return run_guarded("source", run)


if __name__ == "__main__":
    sys.exit(main())
