"""Test-set metrics vs. the untuned model and a classic baseline (TF-IDF + LogReg, a CRF for NER); writes metrics/eval.json.

`sftops evaluate` and DVC stage `evaluate`: parse the arguments, call `sftops.stages.evaluate` on the working folder.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("evaluate", __doc__).parse_args(argv)

    def run() -> None:
        from sftops.config import load_params
        from sftops.stages import evaluate

        evaluate(".", load_params(args.params))

    return run_guarded("evaluate", run)


if __name__ == "__main__":
    sys.exit(main())
