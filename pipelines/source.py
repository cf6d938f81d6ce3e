"""Fingerprint the raw data source into data/source.json, so that editing the dataset reruns prepare.

DVC stage `source` (always run): params.data -> data/source.json (sha256 of data.source and of every
file data.extra_sources matches). The file changes only when the data does.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("source", __doc__).parse_args(argv)

    def run() -> None:
        from sftops.config import load_params
        from sftops.data.fingerprint import write_fingerprint

        write_fingerprint(load_params(args.params).data)

    return run_guarded("source", run)


if __name__ == "__main__":
    sys.exit(main())
