"""sftops.training's multi-process helpers: the rank checks, the tune refusal, and torchrun launches of real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sftops.exceptions import ConfigError
from sftops.training import is_main_process, launch_torchrun, main_process_first, process_group, refuse_multiprocess, world_size

# Each rank writes its RANK/WORLD_SIZE and exits with the code given for rank 1: no torch import, so a launch is quick.
_WORKER = """
import os, sys, pathlib
pathlib.Path(sys.argv[1], os.environ["RANK"]).write_text(os.environ["WORLD_SIZE"])
sys.exit(int(sys.argv[2]) if os.environ["RANK"] == "1" else 0)
"""


def test_single_process_is_the_main_one_and_needs_no_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert world_size() == 1 and is_main_process()
    with process_group(), main_process_first():  # no torchrun: no group to join, nothing to wait for
        refuse_multiprocess("tune")


def test_under_torchrun_only_rank_0_is_main_and_tune_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert world_size() == 2 and not is_main_process()
    with pytest.raises(ConfigError, match=r"not under torchrun \(WORLD_SIZE=2\).*several `sftops tune` workers"):
        refuse_multiprocess("tune")


@pytest.fixture
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ddp_probe_worker.py").write_text(_WORKER)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the launched processes import the module from here
    (tmp_path / "ranks").mkdir()
    return tmp_path / "ranks"


def test_launch_runs_the_module_on_n_ranks_and_passes_a_failure_on(worker: Path) -> None:
    assert launch_torchrun("ddp_probe_worker", [str(worker), "0"], 2) == 0
    assert {p.name: p.read_text() for p in worker.iterdir()} == {"0": "2", "1": "2"}
    assert launch_torchrun("ddp_probe_worker", [str(worker), "3"], 2) == 3
