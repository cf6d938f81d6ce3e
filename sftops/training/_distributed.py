"""Training on several processes (DDP): which process this is, the process group, and the torchrun launch.

The HF Trainer does the distributed work itself once the torchrun variables (RANK, WORLD_SIZE, ...) are set: it
joins the process group (gloo on CPU, nccl on GPUs), shards the batches, averages the gradients and gathers the
validation predictions, so every rank computes the same metric and takes the same early-stopping decision.
This module only adds what the Trainer leaves to its caller: one process for the side effects, and the launch.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence

from ..exceptions import ConfigError

log = logging.getLogger(__name__)


def world_size() -> int:
    """How many processes train together (WORLD_SIZE, set by torchrun; 1 without it)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True on the process that logs and writes outputs: rank 0, or the only process."""
    return int(os.environ.get("RANK", "0")) == 0


def refuse_multiprocess(stage: str) -> None:
    """Stop a stage that must run single-process (tuning) when started under torchrun.

    Raises:
        ConfigError: WORLD_SIZE > 1."""
    if world_size() > 1:
        raise ConfigError(
            f"`sftops {stage}` runs on one process, not under torchrun (WORLD_SIZE={world_size()}): to tune in "
            "parallel start several `sftops tune` workers on one PostgreSQL tune.storage; `sftops train --nproc N` "
            "trains the final model on N processes"
        )


def backend() -> str:
    """The collective backend: nccl when this process has a GPU, gloo on CPU (what the Trainer would pick)."""
    import torch

    return "nccl" if torch.cuda.is_available() else "gloo"


@contextlib.contextmanager
def process_group() -> Iterator[None]:
    """Join the torchrun process group for the block and leave it after (nothing on a single process).

    Joined before the Trainer so the stage can order its setup (`main_process_first`); the Trainer reuses it."""
    if world_size() == 1:
        yield
        return
    import torch
    import torch.distributed as dist

    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    else:  # accelerate runs DDP on CPU only when told to (TrainingArguments.use_cpu); without it each rank trains alone
        os.environ.setdefault("ACCELERATE_USE_CPU", "true")
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group(backend=backend())
    try:
        yield
    finally:
        if owned and dist.is_initialized():
            dist.destroy_process_group()


@contextlib.contextmanager
def main_process_first() -> Iterator[None]:
    """Run the block on rank 0, then on the other ranks together (one-time setup: creating the MLflow store and
    experiment, which two processes must not race to create). Needs `process_group` around it."""
    if world_size() == 1:
        yield
        return
    import torch.distributed as dist

    if not is_main_process():
        dist.barrier()
    yield
    if is_main_process():
        dist.barrier()


def launch_torchrun(module: str, args: Sequence[str], nproc: int) -> int:
    """Run `python -m module *args` on `nproc` local processes with torch.distributed.run (torchrun); its exit code.

    Standalone rendezvous on a free local port, so several launches on one machine never collide.

    Raises:
        ConfigError: more processes than visible GPUs on a GPU machine (nccl needs one GPU per process)."""
    import torch
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    gpus = torch.cuda.device_count()
    if gpus and nproc > gpus:
        raise ConfigError(f"--nproc {nproc} needs one GPU per process but {gpus} are visible; "
                          f"use --nproc {gpus} or fewer (CUDA_VISIBLE_DEVICES selects which)")
    config = get_args_parser().parse_args(["--standalone", f"--nproc-per-node={nproc}", "--module", module, *args])
    try:
        run(config)
    except ChildFailedError as exc:
        ranks = sorted(exc.failures)
        first = exc.failures[ranks[0]]
        log.error("%d of %d training processes failed (rank %s: exit code %s); their errors are above",
                  len(ranks), nproc, ranks[0], first.exitcode)
        return first.exitcode if first.exitcode > 0 else 1
    return 0
