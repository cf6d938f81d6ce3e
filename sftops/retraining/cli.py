"""`sftops retrain`: merge feedback and rerun the pipeline when a trigger fired (or with --force).

Exit codes: 0 done or nothing to do, 1 failed (the champion keeps serving), 75 another retrain is running.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from ..cli import run_guarded, stage_parser

EXIT_BUSY = 75  # EX_TEMPFAIL: try again later
COMMAND_HELP = {"retrain": "Merge feedback and rerun the pipeline if a trigger fired"}  # for `sftops --help`

def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so the pipeline's process group is stopped and the failure recorded

def main(argv: Sequence[str] | None = None) -> int:
    parser = stage_parser("retrain", "Merge labelled feedback into the dataset and rerun the pipeline if a trigger fired.")
    parser.add_argument("--reason", default=None, help="why (drift, schedule, feedback, manual); recorded on the MLflow run")
    parser.add_argument("--force", action="store_true", help="retrain even if no trigger fired (and ignore the cooldown)")
    parser.add_argument("--dry-run", action="store_true", help="only say which triggers fire")
    parser.add_argument("--context", default=None, help="JSON object stored with a forced trigger on the MLflow run")
    parser.add_argument("--alarm", type=int, action="append", default=[], metavar="ID",
                        help="the drift alarm this retrain was started for (the server passes it); every pending alarm "
                        "is consumed either way, this one is reported if another retrain got it first")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    outcome: dict[str, int] = {}

    def _run() -> None:
        from ..config import load_params
        from ..exceptions import ConfigError
        from ._lock import RetrainBusy
        from ._run import retrain

        try:
            context = json.loads(args.context) if args.context else None
        except ValueError as exc:
            raise ConfigError(f"--context: not valid JSON ({exc})") from None
        params = load_params(args.params)
        try:
            result = retrain(params, project_dir=Path(args.params).resolve().parent, reason=args.reason,
                             force=args.force, dry_run=args.dry_run, context=context, alarm_ids=args.alarm)
        except RetrainBusy as exc:
            print(f"sftops retrain: {exc}", file=sys.stderr)
            outcome["rc"] = EXIT_BUSY
            return
        run = f" (MLflow run {result.run_id})" if result.run_id else ""
        print(f"retrain {result.status}{run}: {result.message}")
        outcome["rc"] = 1 if result.status == "failed" else 0

    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        rc = run_guarded("retrain", _run)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return rc or outcome.get("rc", 0)

if __name__ == "__main__":
    sys.exit(main())
