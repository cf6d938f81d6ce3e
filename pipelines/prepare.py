"""DVC stage `prepare`: params.data -> data/prepared/{train,validation,test}.parquet + meta.json."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser
from sftops.config import load_params
from sftops.data import prepare


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("prepare", __doc__).parse_args(argv)
    return run_guarded("prepare", lambda: prepare(load_params(args.params).data))


if __name__ == "__main__":
    sys.exit(main())
