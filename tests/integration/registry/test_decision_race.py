"""Two processes deciding at the same moment against a real MLflow server: no audit entry lost, no move overwritten."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import yaml

from sftops.registry import audit_history, promote, registry_client

_WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from sftops.registry.cli import main

    params, name, go, *steps = sys.argv[1:]
    while not Path(go).exists():
        time.sleep(0.005)
    for step in steps:
        argv = ["rollback", name] if step == "rollback" else ["promote", name, step]
        code = main([argv[0], "--params", params, *argv[1:], "--reason", f"race {step}"])
        if code != 0:
            sys.exit(f"{step} failed with exit code {code}")
""")


def test_two_processes_times_ten_decisions_leave_twenty_consistent_entries(
    server, tiny_project, bundle_version, project_params, tmp_path: Path
) -> None:
    name = "race"
    for _ in range(4):
        bundle_version(server, name, tiny_project.good_bundle)
    client = registry_client(server)
    for version in (1, 2, 1, 2):  # a champion history deep enough for the rollbacks whatever the interleaving
        promote(client, name, version, "setup")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(project_params(server, name).model_dump(mode="json")))
    worker = tmp_path / "worker.py"
    worker.write_text(_WORKER)
    go = tmp_path / "go"
    steps = {
        "racer-a": ["1", "2"] * 5,
        "racer-b": ["3", "4", "3", "4", "rollback", "3", "4", "3", "4", "rollback"],
    }
    procs = {
        actor: subprocess.Popen(
            [sys.executable, str(worker), str(params), name, str(go), *todo], cwd=tmp_path,
            env={**os.environ, "SFTOPS_ACTOR": actor}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for actor, todo in steps.items()
    }
    time.sleep(8)  # both have imported sftops and mlflow and wait at the start line
    go.touch()
    for actor, proc in procs.items():
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{actor}: {out[-3000:]}"

    history = audit_history(client, name)
    raced = history[4:]
    assert [e.seq for e in history] == list(range(1, 25))  # distinct, sequential, none lost
    assert len(raced) == 20 and all(e.status == "applied" for e in raced)
    assert sorted(e.actor for e in raced) == ["racer-a"] * 10 + ["racer-b"] * 10
    for actor, todo in steps.items():  # each process's decisions, in its own order
        mine = [e for e in raced if e.actor == actor]
        assert [e.action for e in mine] == ["rollback" if s == "rollback" else "promote" for s in todo]
        assert [e.version for e, s in zip(mine, todo) if s != "rollback"] == [s for s in todo if s != "rollback"]
    for before, after in itertools.pairwise(history):  # each decision saw the move before it: nothing overwritten
        assert after.champion_before == before.champion_after
    assert client.get_registered_model(name).aliases["champion"] == history[-1].champion_after
    assert (tmp_path / "models" / "registry.lock").is_file()  # the flock of the project the params file is in
