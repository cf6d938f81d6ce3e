"""One retrain: check triggers, take the lock, merge feedback, run the pipeline, record everything in MLflow.

Never called in a request path: `sftops retrain` (cron, or a subprocess the server starts)
runs it. The champion only moves through the register stage's promotion gate, so any
failure (bad data, a crash, a worse model) leaves the serving champion in place.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Params
from ..dburl import resolve, scrub
from ..exceptions import ConfigError, SftopsError
from ..paths import META_FILE, REGISTRATION_FILE
from ._alarms import Alarm, AlarmJournal, open_journal
from ._feedback import count_new_feedback, merge_feedback
from ._lock import RetrainLock, is_locked, lock_target
from ._state import RetrainState, load_state, save_state
from ._triggers import RetrainTrigger, cooldown_left, drift_trigger, due_triggers

log = logging.getLogger(__name__)
_LOG_TAIL = 2000
_LOCK_POLL_S = 0.5  # how often the wait for the pipeline looks at the lock


@dataclass
class RetrainResult:
    """What a `retrain` call did: skipped, dry_run, promoted, rejected, unchanged or failed."""

    status: str
    triggers: list[RetrainTrigger] = field(default_factory=list)
    message: str = ""
    run_id: str | None = None
    model_version: str | None = None
    decision: str | None = None


def _check_wiring(params: Params, project_dir: Path) -> None:
    feedback = params.drift.retrain.feedback_file
    if params.task == "token_classification" and not feedback.endswith(".jsonl"):
        raise ConfigError(
            f"drift.retrain.feedback_file ({feedback}) must be a .jsonl file for task token_classification: corrected "
            "entities are written as tagged sentences in JSON Lines (e.g. data/feedback/feedback.jsonl, listed in "
            "data.extra_sources)"
        )
    if not any(fnmatch.fnmatch(feedback, pattern) or Path(pattern) == Path(feedback) for pattern in params.data.extra_sources):
        raise ConfigError(
            f"drift.retrain.feedback_file ({feedback}) is not listed in data.extra_sources "
            f"({params.data.extra_sources}); add it there or feedback never reaches training"
        )


def _labels(project_dir: Path) -> list[str] | None:
    """The prepared data's label names (classes, or an NER dataset's tag names); None before the first prepare."""
    try:
        return list(json.loads((project_dir / META_FILE).read_text())["label_map"])
    except (OSError, ValueError, KeyError):
        return None


def _triggers_now(
    params: Params, project_dir: Path, state: RetrainState, now: float, journal: AlarmJournal | None
) -> tuple[list[RetrainTrigger], int, list[Alarm]]:
    cfg = params.drift.retrain
    new = count_new_feedback(resolve(params.serve.expanded_feedback_db(), project_dir), state.feedback_cutoff)
    pending = journal.pending() if journal is not None else []
    return due_triggers(cfg, state, now=now, new_feedback=new, alarms=pending), new, pending


def _whoami() -> str:
    return f"retrain pid {os.getpid()} on {socket.gethostname()}"


def _carried(journal: AlarmJournal | None, alarm_ids: Sequence[int]) -> str:
    """What became of the alarms this retrain was started for (when it does not run for them)."""
    notes = []
    for alarm_id in alarm_ids:
        alarm = journal.get(alarm_id) if journal is not None else None
        if alarm is None:
            notes.append(f"alarm {alarm_id} is not in the journal")
        elif alarm.status != "pending":
            notes.append(f"alarm {alarm_id} was already {alarm.status} ({alarm.decided_by})")
    return f"; {'; '.join(notes)}" if notes else ""


def retrain(
    params: Params,
    *,
    project_dir: str | Path = ".",
    reason: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    context: dict[str, Any] | None = None,
    alarm_ids: Sequence[int] = (),
) -> RetrainResult:
    """Retrain if a trigger fires (or `force`); only one process at a time gets past the lock.

    Pending drift alarms (from the journal in the feedback database) are a trigger; a retrain
    that runs consumes every pending alarm, and one held off by the cooldown suppresses them,
    recording either decision on the alarm. `alarm_ids`: the alarms the server started this
    retrain for (reported when another retrain got them first)."""
    project_dir = Path(project_dir).resolve()
    _check_wiring(params, project_dir)
    journal = open_journal(resolve(params.serve.expanded_feedback_db(), project_dir))
    try:
        return _retrain(params, project_dir, journal, reason=reason, force=force, dry_run=dry_run, context=context,
                        alarm_ids=alarm_ids)
    finally:
        if journal is not None:
            journal.close()


def _retrain(
    params: Params, project_dir: Path, journal: AlarmJournal | None, *, reason: str | None, force: bool,
    dry_run: bool, context: dict[str, Any] | None, alarm_ids: Sequence[int],
) -> RetrainResult:
    cfg = params.drift.retrain
    state_dir = project_dir / cfg.state_dir
    state, now = load_state(state_dir), time.time()
    fired, new_feedback, pending = _triggers_now(params, project_dir, state, now, journal)
    if force:
        fired = [RetrainTrigger(reason or "manual", {"forced": True, **(context or {})}), *fired]
    if dry_run:
        busy = " (a retrain is running now)" if is_locked(lock_target(state_dir, cfg.expanded_lock_url())) else ""
        names = ", ".join(t.reason for t in fired) or "none"
        return RetrainResult("dry_run", fired, f"triggers firing: {names}; new feedback: {new_feedback}; "
                                               f"pending drift alarms: {len(pending)}{busy}")
    if not fired:
        suppressed = ""
        left = cooldown_left(cfg, state, now)
        if journal is not None and pending and left > 0:
            ids = journal.suppress([a.id for a in pending], why=f"cooldown: {_whoami()} found the last retrain attempt "
                                   f"{now - (state.started_at or now):.0f}s ago (drift.retrain.cooldown_s={cfg.cooldown_s:g})")
            suppressed = f"; drift alarm(s) {', '.join(map(str, ids))} suppressed by the cooldown ({left:.0f}s left)" if ids else ""
        return RetrainResult("skipped", [], f"no trigger fired (new feedback: {new_feedback}){suppressed}"
                                            f"{_carried(journal, alarm_ids)}; use --force to retrain anyway")
    with RetrainLock(lock_target(state_dir, cfg.expanded_lock_url()), check_every_s=cfg.lock_check_s) as lock:
        state = load_state(state_dir)
        if not force:  # another process may have retrained while we waited: decide again under the lock
            fired, new_feedback, pending = _triggers_now(params, project_dir, state, time.time(), journal)
            if not fired:
                return RetrainResult("skipped", [], f"a concurrent retrain already handled the trigger{_carried(journal, alarm_ids)}")
        # every alarm pending now, also one recorded since we looked: the server suppresses alarms while the
        # lock is held, so none falls between this and the end of the retrain
        consumed = journal.consume_pending(by=_whoami()) if journal is not None else []
        # the drift trigger stands for the alarms this retrain consumed (another one, e.g. on a machine
        # with a lock of its own, may have taken them between our read and our update)
        fired = [t for t in fired if t.reason != "drift"] + ([drift_trigger(consumed)] if consumed and any(
            t.reason == "drift" for t in fired) else [])
        if not fired:
            return RetrainResult("skipped", [], f"another retrain consumed the drift alarms first{_carried(journal, alarm_ids)}")
        return _locked_retrain(params, project_dir, state, fired, lock, reason or fired[0].reason, consumed, journal)


def _locked_retrain(
    params: Params, project_dir: Path, state: RetrainState, fired: list[RetrainTrigger], lock: RetrainLock, reason: str,
    alarms: list[Alarm], journal: AlarmJournal | None,
) -> RetrainResult:
    import mlflow

    from ..tracking import connect, lineage_tags

    cfg = params.drift.retrain
    state_dir = project_dir / cfg.state_dir
    started = time.time()
    state = state.model_copy(update={
        "status": "running", "reason": reason, "message": None, "started_at": started, "finished_at": None,
        "pid": os.getpid(), "run_id": None, "model_version": None, "decision": None,
    })
    save_state(state_dir, state)
    result = RetrainResult("failed", fired)
    try:
        connect(params.tracking)
        run = mlflow.start_run(run_name=f"retrain-{reason}", tags={
            **lineage_tags(params, cwd=project_dir), "sftops.kind": "retrain", "sftops.retrain.reason": reason,
            "sftops.retrain.triggers": ",".join(t.reason for t in fired),
            "sftops.retrain.alarms": ",".join(str(a.id) for a in alarms),
        })
    except BaseException as exc:  # e.g. tracking server down: say so in the state, not "running"
        result.message = scrub(f"{type(exc).__name__}: {exc}")
        _finish(state_dir, state, result, merged_cutoff=None)
        raise
    result.run_id = run.info.run_id
    state = state.model_copy(update={"run_id": run.info.run_id})
    save_state(state_dir, state)
    try:
        if journal is not None and alarms:
            journal.attach_run([a.id for a in alarms], run.info.run_id)
        mlflow.log_dict({"triggers": [{"reason": t.reason, **t.detail} for t in fired],
                         "alarms": [a.summary() | {"report": a.payload} for a in alarms]}, "retrain/triggers.json")
        merged = merge_feedback(
            resolve(params.serve.expanded_feedback_db(), project_dir), project_dir / cfg.feedback_file, params.data,
            _labels(project_dir), now=started, retention_days=params.serve.feedback_retention_days, task=params.task,
        )
        mlflow.log_metrics({"feedback_rows": merged.rows, "feedback_unknown_label": merged.unknown_label})
        rc, tail = _run_pipeline(cfg.command, project_dir, state_dir, lock, cfg.timeout_s)
        mlflow.log_artifact(str(state_dir / "retrain.log"), "retrain")
        if rc != 0:
            result.message = f"{' '.join(cfg.command)} exited {rc}; the champion is unchanged. Last output:\n{scrub(tail)}"
        else:
            _read_registration(project_dir, started, result)
            _link_version(params, result)
    except BaseException as exc:  # KeyboardInterrupt/SIGTERM too: record the failure, then re-raise
        result.status, result.message = "failed", scrub(f"{type(exc).__name__}: {exc}")
        _finish(state_dir, state, result, merged_cutoff=None)
        mlflow.set_tags({"sftops.retrain.outcome": "failed", "sftops.retrain.message": result.message[:5000]})
        mlflow.end_run("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise
    mlflow.set_tags({"sftops.retrain.outcome": result.status, "sftops.retrain.message": result.message[:5000]})
    if result.model_version:
        mlflow.set_tags({"sftops.retrain.model_version": result.model_version, "sftops.retrain.decision": result.decision or ""})
    mlflow.end_run("FAILED" if result.status == "failed" else "FINISHED")
    _finish(state_dir, state, result, merged_cutoff=None if result.status == "failed" else merged.cutoff)
    return result


class RetrainLockLost(SftopsError):
    """The retrain's lock was lost while its pipeline ran (a PostgreSQL session that ended); the pipeline was stopped."""


def _run_pipeline(command: list[str], cwd: Path, state_dir: Path, lock: RetrainLock, timeout: float) -> tuple[int, str]:
    """Run the pipeline in its own process group, keeping a flock alive in it (a PostgreSQL lock stays with
    our session while we wait, and is watched); stop the group if we stop, time out, or lose the lock."""
    env = {**os.environ, "SFTOPS_TRIGGER": "retrain"}
    env.pop("MLFLOW_RUN_ID", None)
    log_path = state_dir / "retrain.log"
    log.info("retrain: running %s in %s (log: %s)", " ".join(command), cwd, log_path)
    with open(log_path, "w", encoding="utf-8") as out:
        try:
            proc = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                pass_fds=lock.pass_fds,
            )
        except OSError as exc:
            return 127, f"cannot start {command[0]}: {exc}"
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    rc = proc.wait(timeout=max(0.0, min(_LOCK_POLL_S, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    if lock.lost:  # another retrain may hold the lock now: ours must not go on
                        _stop_group(proc)
                        raise RetrainLockLost(f"{lock.lost}; stopped {' '.join(command)}, the champion is unchanged") from None
                    if time.monotonic() >= deadline:
                        _stop_group(proc)
                        return -1, f"timed out after {timeout:.0f}s (drift.retrain.timeout_s)"
        except BaseException:
            _stop_group(proc)
            raise
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-_LOG_TAIL:]
    return rc, tail


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _read_registration(project_dir: Path, started: float, result: RetrainResult) -> None:
    path = project_dir / REGISTRATION_FILE
    if not path.is_file() or path.stat().st_mtime < started:
        result.status = "unchanged"
        result.message = "the pipeline was up to date: no new version was registered"
        return
    from ..registry import Registration

    reg = Registration.model_validate_json(path.read_text(encoding="utf-8"))
    result.model_version, result.decision = reg.version, reg.decision
    result.status = "promoted" if reg.decision == "promoted" else "rejected"
    result.message = f"{reg.name} version {reg.version}: {reg.decision} ({reg.reason})"
    import mlflow

    mlflow.log_metrics({f"gate_{k}": v for k, v in reg.scores.items()})
    mlflow.set_tags({"sftops.retrain.model_name": reg.name, "sftops.retrain.model_run_id": reg.run_id})


def _link_version(params: Params, result: RetrainResult) -> None:
    """Tag the registered version with the retrain run, so the link goes both ways."""
    if not result.model_version or not result.run_id:
        return
    from mlflow import MlflowClient

    try:
        MlflowClient().set_model_version_tag(params.registry.model_name, result.model_version, "sftops.retrain_run_id", result.run_id)
    except Exception as exc:  # the retrain itself succeeded; a missing back-link is only logged
        log.warning("could not tag version %s with the retrain run: %s", result.model_version, exc)


def _finish(state_dir: Path, state: RetrainState, result: RetrainResult, merged_cutoff: float | None) -> None:
    now = time.time()
    update: dict[str, Any] = {
        "status": result.status, "message": result.message, "finished_at": now, "pid": None,
        "model_version": result.model_version, "decision": result.decision,
    }
    if result.status != "failed":
        update["last_success_at"] = now
    if merged_cutoff is not None:
        update["feedback_cutoff"] = merged_cutoff
    save_state(state_dir, state.model_copy(update=update))
