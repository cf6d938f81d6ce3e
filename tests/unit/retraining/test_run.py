"""`sftops retrain` in a scratch project whose "pipeline" is a small script: outcomes, records, lock, kills.

Real processes contend for the real lock and write to a real MLflow store; only `dvc repro`
is replaced by a script, so each case takes seconds (the full loop is in tests/e2e).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sftops.config import load_params, parse_params
from sftops.exceptions import ConfigError
from sftops.retraining import is_locked, load_state, retrain, retrain_status
from sftops.testing.polling import wait_for
from sftops.testing.retrain_project import make_retrain_project, retrain_runs


def _cli(params: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sftops.cli", "retrain", "--params", params.name, *args], cwd=params.parent,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_feedback_trigger_merges_feedback_runs_the_pipeline_and_records_the_version(tmp_path: Path) -> None:
    params_file = make_retrain_project(tmp_path)
    result = retrain(load_params(params_file), project_dir=tmp_path)
    assert result.status == "promoted" and result.model_version == "7" and result.decision == "promoted"
    assert [t.reason for t in result.triggers] == ["feedback"]
    merged = pd.read_csv(tmp_path / "data/feedback/feedback.csv")
    assert list(merged.columns) == ["text", "sentiment"] and len(merged) == 4
    (run,) = retrain_runs()
    assert run.info.status == "FINISHED" and run.info.run_id == result.run_id
    assert run.data.tags["sftops.retrain.reason"] == "feedback"
    assert run.data.tags["sftops.retrain.model_version"] == "7"
    assert run.data.tags["sftops.retrain.model_run_id"] == "abc"
    assert run.data.metrics["feedback_rows"] == 4 and run.data.metrics["gate_challenger"] == 0.7
    state = load_state(tmp_path / "retrain")
    assert state.status == "promoted" and state.feedback_cutoff >= state.started_at
    # the feedback was consumed: a second call finds no trigger and runs nothing
    assert retrain(load_params(params_file), project_dir=tmp_path).status == "skipped"
    assert (tmp_path / "pipeline_runs.txt").read_text().count("run") == 1


def test_a_failed_pipeline_keeps_the_feedback_pending_and_records_the_failure(tmp_path: Path) -> None:
    params_file = make_retrain_project(tmp_path, decision="fail")
    result = retrain(load_params(params_file), project_dir=tmp_path, force=True, reason="manual")
    assert result.status == "failed" and "exited 3" in result.message and "out of memory" in result.message
    (run,) = retrain_runs()
    assert run.info.status == "FAILED" and run.data.tags["sftops.retrain.outcome"] == "failed"
    status = retrain_status(tmp_path / "retrain")
    assert status["status"] == "failed" and not status["running"]
    assert load_state(tmp_path / "retrain").feedback_cutoff == 0.0  # still counts as new feedback


def test_a_rejected_challenger_is_a_finished_run_with_the_decision(tmp_path: Path) -> None:
    params_file = make_retrain_project(tmp_path, decision="rejected")
    result = retrain(load_params(params_file), project_dir=tmp_path)
    assert result.status == "rejected" and result.model_version == "7"
    (run,) = retrain_runs()
    assert run.info.status == "FINISHED" and run.data.tags["sftops.retrain.decision"] == "rejected"


def test_two_concurrent_triggers_run_only_one_retrain(tmp_path: Path) -> None:
    params_file = make_retrain_project(tmp_path, sleep=3.0)
    first, second = _cli(params_file), _cli(params_file)
    outputs = [p.communicate(timeout=120)[0] for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    assert (tmp_path / "pipeline_runs.txt").read_text().count("run") == 1, outputs
    assert len(retrain_runs()) == 1
    # the loser either found the lock taken (75) or, coming second, found the trigger handled (0)
    assert codes in ([0, 75], [0, 0]), outputs
    assert any("another retrain is running" in o or "already handled" in o for o in outputs), outputs


def test_sigterm_stops_the_pipeline_records_the_kill_and_frees_the_lock(tmp_path: Path) -> None:
    params_file = make_retrain_project(tmp_path, sleep=60.0)
    proc = _cli(params_file, "--force")
    wait_for(lambda: (tmp_path / "pipeline_runs.txt").exists())
    assert is_locked(tmp_path / "retrain/retrain.lock")
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, out
    assert not is_locked(tmp_path / "retrain/retrain.lock")
    (run,) = retrain_runs()
    assert run.info.status == "KILLED", (out, run.data.tags)
    assert retrain_status(tmp_path / "retrain")["status"] == "failed"


def test_a_kill_9_leaves_a_recoverable_lock_and_a_later_retrain_succeeds(tmp_path: Path) -> None:
    params_file = make_retrain_project(tmp_path, sleep=60.0)
    proc = _cli(params_file, "--force")
    wait_for(lambda: (tmp_path / "pipeline_runs.txt").exists())
    state = load_state(tmp_path / "retrain")
    assert state.status == "running" and state.pid == proc.pid
    # the pipeline child keeps the lock after its parent dies; kill both, as a crash of the machine would
    child = int(subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()[0])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert is_locked(tmp_path / "retrain/retrain.lock")  # the pipeline still runs, so no second retrain may start
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: not is_locked(tmp_path / "retrain/retrain.lock"), timeout=10)
    status = retrain_status(tmp_path / "retrain")
    assert status["status"] == "failed" and "interrupted" in status["message"]
    params = yaml.safe_load(params_file.read_text())
    params["drift"]["retrain"]["command"][2] = "0"
    params_file.write_text(yaml.safe_dump(params))
    assert retrain(load_params(params_file), project_dir=tmp_path, force=True).status == "promoted"


def test_dry_run_reports_triggers_without_side_effects(tmp_path: Path) -> None:
    params_file = make_retrain_project(tmp_path)
    result = retrain(load_params(params_file), project_dir=tmp_path, dry_run=True)
    assert result.status == "dry_run" and "feedback" in result.message and "new feedback: 4" in result.message
    assert not (tmp_path / "pipeline_runs.txt").exists() and not (tmp_path / "data/feedback").exists()


def test_feedback_file_missing_from_extra_sources_is_a_config_error(tmp_path: Path) -> None:
    params_file = make_retrain_project(tmp_path)
    params = yaml.safe_load(params_file.read_text())
    params["data"]["extra_sources"] = []
    params_file.write_text(yaml.safe_dump(params))
    proc = _cli(params_file, "--force")
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 1
    assert "drift.retrain.feedback_file (data/feedback/feedback.csv) is not listed in data.extra_sources" in out


def test_an_unreachable_tracking_server_fails_the_retrain_instead_of_leaving_it_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sftops.exceptions import SftopsError
    from sftops.testing.servers import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", dead)
    params_file = make_retrain_project(tmp_path)
    params = load_params(params_file).model_copy(update={"tracking": load_params(params_file).tracking.model_copy(
        update={"uri": dead, "connect_timeout": 1.0})})
    with pytest.raises(SftopsError, match="unreachable"):
        retrain(params, project_dir=tmp_path, force=True)
    state = load_state(tmp_path / "retrain")
    assert state.status == "failed" and "unreachable" in state.message and state.pid is None
    assert not (tmp_path / "pipeline_runs.txt").exists()


def _alarm_report(p_value: float = 1e-4) -> dict:
    return {"state": "alarm", "alarm": True, "evaluated_at": 1.0, "window_size": 500, "model_version": "3",
            "detectors": {"length": {"score": 0.9, "p_value": p_value, "alarm": True}}}


def test_a_retrain_consumes_pending_alarms_once_and_one_held_off_by_the_cooldown_suppresses_them(tmp_path: Path) -> None:
    from sftops.retraining import AlarmJournal

    params_file = make_retrain_project(tmp_path, min_feedback=None)
    journal = AlarmJournal(tmp_path / "feedback/feedback.db")
    first = journal.record(_alarm_report(), model_version="3")
    result = retrain(load_params(params_file), project_dir=tmp_path, alarm_ids=[first.id])
    assert result.status == "promoted" and result.triggers[0].detail["alarms"] == [first.id]
    (run,) = retrain_runs()
    assert (journal.get(first.id).status, journal.get(first.id).run_id) == ("consumed", run.info.run_id)
    # the same alarm carried by a second (late) retrain: nothing to do, and it says who had it
    late = retrain(load_params(params_file), project_dir=tmp_path, alarm_ids=[first.id])
    assert late.status == "skipped" and f"alarm {first.id} was already consumed (retrain pid {os.getpid()} on " in late.message
    # a new alarm within drift.retrain.cooldown_s (3600 s) of that attempt: suppressed, and the event says so
    second = journal.record(_alarm_report(), model_version="3")
    held = retrain(load_params(params_file), project_dir=tmp_path)
    assert held.status == "skipped" and f"drift alarm(s) {second.id} suppressed by the cooldown" in held.message
    decided = journal.get(second.id)
    assert decided.status == "suppressed" and "drift.retrain.cooldown_s=3600" in decided.decided_by
    assert journal.pending() == [] and (tmp_path / "pipeline_runs.txt").read_text().count("run") == 1
    journal.close()


def test_concurrent_consumers_get_each_alarm_exactly_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sftops.retraining import AlarmJournal

    journals = [AlarmJournal(tmp_path / "fb.db") for _ in range(4)]
    ids = [journals[0].record(_alarm_report(), model_version="1").id for _ in range(5)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda i: journals[i % 4].consume(ids, by=f"consumer {i}"), range(8)))
    assert sorted(i for mine in got for i in mine) == ids  # every alarm consumed, none twice
    assert journals[1].pending() == [] and journals[2].suppress(ids, why="late") == []
    for journal in journals:
        journal.close()


def test_the_lock_status_is_unknown_not_an_error_when_its_database_is_down(tmp_path: Path) -> None:
    from sftops.testing.servers import free_port

    status = retrain_status(tmp_path / "retrain", f"postgresql://u:pw0rd@127.0.0.1:{free_port()}/x")
    assert status["running"] is None and status["status"] is None
    assert status["lock_error"].startswith("unknown whether a retrain is running: cannot reach the retrain lock database")
    assert "pw0rd" not in status["lock_error"]


def test_a_retrain_the_server_spawns_gets_the_users_mlflow_settings_not_the_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prometheus_client import CollectorRegistry

    from sftops_serving.model_store import limit_registry_retries
    from sftops_serving.monitor import ServingMonitor

    dump = "import json, os; json.dump(dict(os.environ), open('child_env.json', 'w'))"
    params_file = make_retrain_project(tmp_path, retrain={"command": [sys.executable, "-c", dump]})
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "5")  # the user's own setting
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", raising=False)
    limit_registry_retries(7)  # what `sftops serve` does for its own registry polls
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "7" and os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "5"
    monitor = ServingMonitor(load_params(params_file).drift, registry=CollectorRegistry(), project_dir=tmp_path,
                             params_file=params_file)
    proc = monitor.start_retrain("manual", force=True)
    assert proc.wait(timeout=120) == 0, monitor.retrain_log.read_text()
    import json

    child = json.loads((tmp_path / "child_env.json").read_text())  # the pipeline's env, below the retrain process
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in child and "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR" not in child
    assert child["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "5" and child["SFTOPS_TRIGGER"] == "retrain"
    monitor.close()


def test_an_ner_retrain_merges_span_feedback_into_tagged_sentences(tmp_path: Path) -> None:
    params_file = make_retrain_project(tmp_path, ner=True)
    result = retrain(load_params(params_file), project_dir=tmp_path)
    assert result.status == "promoted" and [t.reason for t in result.triggers] == ["feedback"]
    lines = (tmp_path / "data/feedback/feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"tokens": ["Ada", "went", "to", "Paris", str(i)], "tags": ["B-PER", "O", "O", "B-LOC", "O"]} for i in range(4)
    ]
    (run,) = retrain_runs()
    assert run.data.metrics["feedback_rows"] == 4 and run.data.metrics["feedback_unknown_label"] == 0


def test_an_ner_retrain_refuses_a_feedback_file_that_is_not_json_lines(tmp_path: Path) -> None:
    params = parse_params({"task": "token_classification", "data": {"extra_sources": ["data/feedback/*.csv"]}})
    with pytest.raises(ConfigError, match=r"feedback_file \(data/feedback/feedback.csv\) must be a \.jsonl file"):
        retrain(params, project_dir=tmp_path)
    assert not (tmp_path / "data/feedback").exists()
