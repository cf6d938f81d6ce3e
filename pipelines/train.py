"""Fine-tune with the best params; writes models/model/.

`sftops train` and DVC stage `train`: parse the arguments, call `sftops.stages.train` on the working folder.
`--nproc N` (N > 1) relaunches this module on N processes with torchrun (DDP: gloo on CPU, nccl on GPUs); started
by `torchrun` directly it does the same. Rank 0 alone logs the MLflow run and writes the outputs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = stage_parser("train", __doc__)
    parser.add_argument("--no-tuned", action="store_true", help="ignore models/best_params.json; use params.yaml as is")
    parser.add_argument("--nproc", type=_positive, default=1,
                        help="train on N local processes with DDP via torchrun, one per GPU on a GPU machine (default 1)")
    args = parser.parse_args(argv)

    from sftops.training import launch_torchrun, world_size

    if args.nproc > 1 and world_size() == 1:
        module = __spec__.name if __spec__ else "sftops_pipelines.train"
        forwarded = ["--params", args.params, *(["--no-tuned"] if args.no_tuned else [])]
        codes: list[int] = []  # the processes' exit code; each printed its own error
        refused = run_guarded("train", lambda: codes.append(launch_torchrun(module, forwarded, args.nproc)))
        return refused or codes[0]

    def run() -> None:
        from sftops.config import load_params
        from sftops.stages import train
        from sftops.tracking import connect
        from sftops.training import main_process_first, process_group

        params = load_params(args.params)
        with process_group():
            with main_process_first():  # rank 0 creates the MLflow store / experiment; the others then open it
                connect(params.tracking)
            train(".", params, tuned=not args.no_tuned)

    return run_guarded("train", run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
