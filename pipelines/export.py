"""Export the model to ONNX, check parity, build variants; writes models/onnx/.

`sftops export` and DVC stage `export`: parse the arguments, call `sftops.stages.export` on the working folder.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("export", __doc__).parse_args(argv)

    def run() -> None:
        from sftops.config import load_params
        from sftops.stages import export

        export(".", load_params(args.params))

    return run_guarded("export", run)


if __name__ == "__main__":
    sys.exit(main())
