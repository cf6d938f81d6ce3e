"""Register the model in MLflow and run the promotion gate; writes models/registration.json.

`sftops register` and DVC stage `register`: parse the arguments, call `sftops.stages.register` on the working folder.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("register", __doc__).parse_args(argv)

    def run() -> None:
        from sftops.config import load_params
        from sftops.stages import register

        report = register(".", load_params(args.params))
        print(f"{report.name} version {report.version}: {report.decision} ({report.reason})")

    return run_guarded("register", run)


if __name__ == "__main__":
    sys.exit(main())
