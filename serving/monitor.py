"""Drift monitoring inside the server: feed live predictions to a DriftMonitor, export gauges, trigger retrains.

`observe` only copies arrays into the window (request path); detectors run in one background
thread every `drift.check_every` texts. Each report is saved to `<drift.retrain.state_dir>/
drift_status.json` for display. An alarm is an event in the alarm journal (the feedback
database), pending until a retrain consumes it: the server starts `sftops retrain --alarm ID`
as a separate process through sftops.retraining.spawn_retrain (it never retrains in its own,
and starts no process any other way), or, while the cooldown holds, records the suppression
on the event instead; `sftops retrain` from cron sees pending alarms too.

A monitor failure (a reference that does not fit the model, a detector raising, the journal
database down) never fails a prediction: it is counted (sftops_drift_errors_total), logged
once, and shown on /v1/drift. /v1/drift reads a status snapshot refreshed off the request
path, so polling it opens no database connection per request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge
from threadpoolctl import threadpool_limits

from sftops.bundle import BundleManifest
from sftops.config import DriftConfig, ServeConfig
from sftops.drift import DriftMonitor, DriftReport, Observations, ReferenceProfile
from sftops.drift.reference import DriftReference, TaggedAnswer
from sftops.exceptions import RegistryError, ServingError
from sftops.retraining import (
    Alarm,
    AlarmJournal,
    cooldown_left,
    is_locked,
    load_state,
    lock_target,
    retrain_status,
    save_drift_status,
    spawn_retrain,
)
from sftops.tagging import entity_types

from .schemas import AlarmInfo, DriftCheck, DriftResponse, RetrainStatus

if TYPE_CHECKING:
    import subprocess  # the retrain process's type only: processes are started by sftops.retraining.spawn_retrain

log = logging.getLogger(__name__)
T = TypeVar("T")
STATUS_TTL_S = 2.0  # /v1/drift shows the retrain and alarm status as of at most this long ago


class Refreshed(Generic[T]):
    """A value computed in a thread of its own, at most once per `ttl_s` however many callers ask.

    `get` answers a value younger than `ttl_s` at once; an older one starts (or joins) the one
    refresh in flight and waits for it at most `wait_s`, then answers the freshest value there is
    (the old one while a slow database keeps the refresh from finishing)."""

    def __init__(self, compute: Callable[[], T], ttl_s: float) -> None:
        self._compute = compute
        self._ttl = ttl_s
        self._value: T | None = None
        self._at = -math.inf
        self._lock = threading.Lock()
        self._done: threading.Event | None = None  # the refresh in flight

    def get(self, wait_s: float = 3.0) -> T | None:
        with self._lock:
            if time.monotonic() - self._at < self._ttl:
                return self._value
            done = self._done
            if done is None:
                done = self._done = threading.Event()
                threading.Thread(target=self._background, args=(done,), name="drift-status-refresh", daemon=True).start()
        done.wait(wait_s)
        return self._value

    def refresh(self) -> T:
        """Compute now, in this thread (`compute` must not raise)."""
        value = self._compute()
        with self._lock:
            self._value, self._at = value, time.monotonic()
        return value

    def _background(self, done: threading.Event) -> None:
        try:
            self.refresh()
        finally:
            with self._lock:
                self._done = None
            done.set()


class ObservedPrediction(Protocol):
    """What the monitor needs from one served prediction (sftops.inference.Prediction plus token counts)."""

    @property
    def probabilities(self) -> dict[str, float]: ...
    @property
    def embedding(self) -> np.ndarray | None: ...
    @property
    def n_tokens(self) -> int: ...
    @property
    def n_unknown(self) -> int: ...


def _embedding(prediction: ObservedPrediction | TaggedAnswer) -> np.ndarray:
    if prediction.embedding is None:
        raise ValueError("a prediction in the batch carries no embedding")
    return prediction.embedding


class ServingMonitor:
    """One server's drift monitor: a window per served model version, Prometheus gauges, the retrain trigger."""

    def __init__(
        self,
        cfg: DriftConfig,
        *,
        registry: CollectorRegistry,
        project_dir: str | Path = ".",
        params_file: str | Path | None = None,
        on_alarm: Callable[[DriftReport], None] | None = None,
        alarm_db: str | Path | None = None,
    ) -> None:
        """`alarm_db`: where the alarm journal lives (the feedback database; default serve.feedback_db's default in
        `project_dir`). `on_alarm` replaces starting a retrain (the alarm is journaled either way)."""
        self.cfg = cfg
        self.state_dir = Path(project_dir) / cfg.retrain.state_dir
        self.params_file = Path(params_file) if params_file else None
        self.alarm_db = alarm_db if alarm_db is not None else Path(project_dir) / ServeConfig().feedback_db
        self._on_alarm = on_alarm
        self._journal: AlarmJournal | None = None
        self._journal_lock = threading.Lock()
        self._error: str | None = None
        self._error_count = 0
        self._logged: set[tuple[str, str]] = set()
        self._status = Refreshed(self._snapshot, STATUS_TTL_S)
        self._monitor: DriftMonitor | None = None
        self._labels: list[str] = []
        self._version: str | None = None
        self._detail: str | None = None if cfg.enabled else "drift monitoring is off (drift.enabled: false)"
        self._last: DriftReport | None = None
        self._retrain_proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._due = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.score = Gauge("sftops_drift_score", "Drift effect size per detector", ["detector"], registry=registry)
        self.p_value = Gauge("sftops_drift_p_value", "Drift p-value per detector", ["detector"], registry=registry)
        self.alarm = Gauge("sftops_drift_alarm", "1 while the last drift check alarmed", registry=registry)
        self.window = Gauge("sftops_drift_window_size", "Texts in the drift window", registry=registry)
        self.checks = Counter("sftops_drift_checks_total", "Drift evaluations run", registry=registry)
        self.alarms = Counter("sftops_drift_alarms_total", "Drift evaluations that alarmed", registry=registry)
        self.errors = Counter("sftops_drift_errors_total", "Drift monitor failures (none fails a prediction), by stage",
                              ["stage"], registry=registry)
        self.pending = Gauge("sftops_drift_pending_alarms", "Drift alarms journaled and waiting for a retrain",
                             registry=registry)
        self.retrains = Counter("sftops_retrains_started_total", "Retrains this server started, by reason", ["reason"],
                                registry=registry)
        self.retrain_running = Gauge("sftops_retrain_running", "1 while a retrain holds the retrain lock",
                                     registry=registry)
        self.retrain_outcome = Gauge("sftops_retrain_last_outcome", "The last retrain's outcome and reason (value 1)",
                                     ["status", "reason"], registry=registry)
        self.retrain_finished = Gauge("sftops_retrain_last_finished_timestamp_seconds",
                                      "When the last retrain finished (Unix time; 0: none yet)", registry=registry)

    def set_reference(self, profile: ReferenceProfile, labels: Sequence[str], version: str) -> None:
        """Start a fresh window against a (new) model's reference; call on load and on every hot swap.

        `labels`: the classes the profile counts, in its order: the class labels, or an NER model's entity types."""
        if not self.cfg.enabled:
            return
        if profile.num_labels != len(labels):
            what = "labels" if profile.task == "classification" else "entity types"
            detail = (f"version {version} is not monitored: its drift reference was built for {profile.num_labels} {what}, "
                      f"the model has {len(labels)}; re-export the model")
            self._failed("reference", ValueError(detail))
            self.clear_reference(version, detail)
            return
        try:
            monitor = DriftMonitor(profile, self.cfg)
        except ValueError as exc:  # e.g. too few MMD permutations for an NER model's six tests
            self.clear_reference(version, f"version {version} is not monitored: {exc}")
            return
        with self._lock:
            self._monitor = monitor
            self._labels, self._version, self._last, self._detail = list(labels), version, None, None
        self.alarm.set(0)
        self.window.set(0)
        if self._worker is None:
            self._worker = threading.Thread(target=self._loop, name="drift-monitor", daemon=True)
            self._worker.start()

    def use_bundle(self, bundle_dir: str | Path, variant: str, labels: Sequence[str], version: str) -> None:
        """`set_reference` from a serving bundle's drift reference; a bundle without one is served unmonitored."""
        if not self.cfg.enabled:
            self._version = version
            return
        try:
            file = BundleManifest.load(bundle_dir).drift_reference_file
            if file is None:
                raise RegistryError(f"{bundle_dir}: the bundle's manifest names no drift reference; re-export the model")
            reference = DriftReference.load(bundle_dir, file)
            profile = reference.profile(bundle_dir, variant)
            if reference.task == "token_classification":  # the monitor counts entity types, not the model's tags
                types = entity_types(labels)
                if types != reference.entity_types:
                    raise RegistryError(f"its drift reference counts entity types {reference.entity_types}, the model tags "
                                        f"{types}; re-export the model")
                labels = types
            self.set_reference(profile, labels, version)
        except RegistryError as exc:
            self.clear_reference(version, f"version {version} is not monitored: {exc}")
        except Exception as exc:  # an unreadable or inconsistent reference must not break the swap
            self._failed("reference", exc)
            self.clear_reference(version, f"version {version} is not monitored: its drift reference is unusable "
                                          f"({type(exc).__name__}: {exc})")

    def clear_reference(self, version: str, detail: str) -> None:
        """Stop monitoring (the served version has no usable drift reference) and say why in `status`."""
        log.warning("%s", detail)
        with self._lock:
            self._monitor, self._version, self._last, self._detail = None, version, None, detail
        self.alarm.set(0)
        self.window.set(0)

    def observe(self, batch: Observations) -> None:
        """Add served texts to the window (cheap); wakes the background check every `check_every` texts."""
        monitor = self._monitor
        if monitor is None or len(batch) == 0:
            return
        try:
            due = monitor.observe(batch)
        except Exception as exc:  # a prediction never fails because of the monitor
            self._failed("observe", exc)
            return
        if due:
            self._due.set()

    def observe_predictions(
        self, predictions: Sequence[ObservedPrediction] | Sequence[TaggedAnswer], version: str | None = None
    ) -> None:
        """`observe` for the runtime's answers: Prediction objects, or an NER model's TaggedText (skipped when the
        model outputs no embedding).

        With `version`, predictions of another version than the monitored one (a batch that ran
        across a hot swap) are dropped rather than mixed into the new version's window.
        """
        monitor = self._monitor
        if monitor is None or not predictions or predictions[0].embedding is None:
            return
        if version is not None and version != self._version:
            return
        try:
            if monitor.reference.task == "token_classification":
                batch = self._tagged_batch(cast("Sequence[TaggedAnswer]", predictions))
            else:
                batch = self._classified_batch(cast("Sequence[ObservedPrediction]", predictions))
        except Exception as exc:  # e.g. labels the reference does not know: the prediction is still answered
            self._failed("observe", exc)
            return
        self.observe(batch)

    def _classified_batch(self, predictions: Sequence[ObservedPrediction]) -> Observations:
        return Observations(
            embeddings=np.stack([_embedding(p) for p in predictions]),
            probs=np.array([[p.probabilities[name] for name in self._labels] for p in predictions]),
            n_tokens=np.array([p.n_tokens for p in predictions]),
            n_unknown=np.array([p.n_unknown for p in predictions]),
        )

    def _tagged_batch(self, predictions: Sequence[TaggedAnswer]) -> Observations:
        index = {name: i for i, name in enumerate(self._labels)}
        counts = np.zeros((len(predictions), len(index)), dtype=np.int64)
        for row, prediction in enumerate(predictions):
            for entity in prediction.entities:
                counts[row, index[entity.type]] += 1
        return Observations.tagged(
            embeddings=np.stack([_embedding(p) for p in predictions]),
            entity_counts=counts,
            confidence=np.array([p.confidence for p in predictions]),
            n_tokens=np.array([p.n_tokens for p in predictions]),
            n_unknown=np.array([p.n_unknown for p in predictions]),
        )

    def check_now(self) -> DriftReport | None:
        """Evaluate synchronously (tests, admin); the background thread calls the same.

        None when nothing is monitored, or when the check failed (counted, shown in `status`)."""
        monitor = self._monitor
        if monitor is None:
            return None
        try:
            with threadpool_limits(1):  # one core for the detectors' BLAS; the batch workers keep the rest
                report = monitor.evaluate()
        except Exception as exc:
            self._failed("check", exc)
            return None
        if monitor is not self._monitor:  # a hot swap happened meanwhile: this report is about the old model
            return report
        self._publish(report)
        self._status.refresh()  # this thread is off the request path: show the new alarm state at once
        return report

    def status(self) -> DriftResponse:
        """The body of GET /v1/drift: the last report, the model version it concerns, alarms, errors, the retrain.

        The retrain and alarm parts come from a snapshot at most STATUS_TTL_S old, refreshed in another thread
        (one refresh however many requests come; a request waits for it at most a few seconds)."""
        monitor, last = self._monitor, self._last
        snap = self._status.get() or {"retrain": {"running": None, "lock_error": "retrain status not read yet"},
                                      "pending_alarms": None, "last_alarm": None}
        return DriftResponse(
            enabled=self.cfg.enabled,
            model_version=self._version,
            monitoring=monitor is not None,
            detail=self._detail,
            alarm=bool(last and last.alarm),
            window=monitor.window_size if monitor else 0,
            observed=monitor.observed_total if monitor else 0,
            report=DriftCheck.model_validate(last.to_dict()) if last else None,
            retrain=RetrainStatus.model_validate(snap["retrain"]),
            pending_alarms=snap["pending_alarms"],
            last_alarm=AlarmInfo.model_validate(snap["last_alarm"]) if snap["last_alarm"] else None,
            errors=self._error_count,
            last_error=self._error,
        )

    def _snapshot(self) -> dict[str, Any]:
        """The slow parts of `status`: the retrain state file, the lock probe, the alarm journal (never raises)."""
        try:
            retrain = retrain_status(self.state_dir, self.cfg.retrain.expanded_lock_url())
        except Exception as exc:  # e.g. an unset ${VAR} in the lock URL: unknown, not a 500
            retrain = {"running": None, "lock_error": f"retrain status unknown: {type(exc).__name__}: {exc}"}
        pending = last = None
        try:
            journal = self._open_journal()
            pending, newest = journal.pending_count(), journal.last()
            last = newest.summary() if newest else None
        except Exception as exc:
            self._failed("journal", exc)
        self._export_retrain(retrain, pending)
        return {"retrain": retrain, "pending_alarms": pending, "last_alarm": last}

    def _export_retrain(self, retrain: dict[str, Any], pending: int | None) -> None:
        """Mirror the snapshot into the gauges (what cannot be read is left as it was, not zeroed)."""
        if retrain.get("running") is not None:
            self.retrain_running.set(1 if retrain["running"] else 0)
        if retrain.get("status"):
            self.retrain_outcome.clear()
            self.retrain_outcome.labels(status=retrain["status"], reason=retrain.get("reason") or "").set(1)
        self.retrain_finished.set(retrain.get("finished_at") or 0)
        if pending is not None:
            self.pending.set(pending)

    def poll_status(self) -> None:
        """Start refreshing the retrain and alarm gauges if they are older than STATUS_TTL_S (a scrape calls this; it never waits)."""
        self._status.get(wait_s=0.0)

    def _open_journal(self) -> AlarmJournal:
        with self._journal_lock:
            if self._journal is None:
                self._journal = AlarmJournal(self.alarm_db)
            return self._journal

    def _failed(self, stage: str, exc: BaseException) -> None:
        """Count a monitor failure, keep it for /v1/drift, and log it the first time it happens (not per batch)."""
        self.errors.labels(stage=stage).inc()
        message = f"{stage}: {type(exc).__name__}: {exc}"
        with self._lock:
            self._error_count += 1
            self._error = message
            first = (stage, type(exc).__name__) not in self._logged
            self._logged.add((stage, type(exc).__name__))
        if first:
            log.error("drift monitor %s failed; predictions are unaffected (counted in sftops_drift_errors_total, "
                      "shown on /v1/drift, logged once): %s", stage, message, exc_info=exc)

    def close(self) -> None:
        """Stop the background checks (a retrain already started keeps running on its own)."""
        self._stop.set()
        self._due.set()
        if self._worker is not None:
            self._worker.join(timeout=10)
        with self._journal_lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    def _loop(self) -> None:
        last = -math.inf
        while not self._stop.is_set():
            self._due.wait()
            # checks that fall due while waiting coalesce into one: at most one per min_check_interval_s
            if self._stop.wait(max(0.0, last + self.cfg.min_check_interval_s - time.monotonic())):
                return
            self._due.clear()
            last = time.monotonic()
            try:
                self.check_now()
            except Exception as exc:  # the monitor must never take the server down
                self._failed("check", exc)

    def _publish(self, report: DriftReport) -> None:
        self._last = report
        self.checks.inc()
        self.window.set(report.window_size)
        for result in report.detectors:
            self.score.labels(detector=result.name).set(result.score)
            self.p_value.labels(detector=result.name).set(result.p_value)
        self.alarm.set(1 if report.alarm else 0)
        if report.state == "warming_up":
            return
        payload = report.to_dict() | {"model_version": self._version}
        try:  # the last report, for display; alarms live in the journal
            save_drift_status(self.state_dir, payload)
        except OSError as exc:
            log.warning("could not save the drift status to %s: %s", self.state_dir, exc)
        if report.alarm:
            self.alarms.inc()
            failing = [r.name for r in report.detectors if r.alarm]
            log.warning("drift alarm on version %s: %s", self._version, ", ".join(failing))
            try:
                self._raise_alarm(report, payload)
            except Exception as exc:
                self._failed("alarm", exc)

    def _raise_alarm(self, report: DriftReport, payload: dict[str, Any]) -> Alarm:
        """Journal the alarm, then start a retrain for it, or record why not (the cooldown) on the event."""
        why_not = self._suppression()
        alarm = self._open_journal().record(payload, model_version=self._version,
                                            status="suppressed" if why_not else "pending", decided_by=why_not)
        if why_not:
            log.warning("drift alarm %d suppressed: %s", alarm.id, why_not)
        if self._on_alarm is not None:
            self._on_alarm(report)
        elif alarm.status == "pending" and self.params_file is not None:
            try:
                self.start_retrain("drift", alarms=[alarm.id])
            except ServingError as exc:  # e.g. this replica's retrain still runs: the next retrain consumes it
                log.warning("drift alarm %d stays pending: %s", alarm.id, exc)
        return alarm

    def _suppression(self) -> str | None:
        """Why an alarm now must not start a retrain (recorded on it), or None."""
        cfg = self.cfg.retrain
        if not cfg.on_drift:
            return "drift.retrain.on_drift is off"
        state = load_state(self.state_dir)
        left = cooldown_left(cfg, state, time.time())
        if left > 0:
            return (f"cooldown: the last retrain attempt started {time.time() - (state.started_at or 0):.0f}s ago "
                    f"(drift.retrain.cooldown_s={cfg.cooldown_s:g}, {left:.0f}s left)")
        try:  # a retrain holding the lock consumed the alarms pending when it started; it covers this one
            if is_locked(lock_target(self.state_dir, cfg.expanded_lock_url())):
                return "a retrain is running (it holds the retrain lock)"
        except Exception as exc:  # the lock database is down: keep the alarm pending for the next retrain
            self._failed("alarm", exc)
        return None

    def start_retrain(self, reason: str, *, force: bool = False, context: dict | None = None,
                      alarms: Sequence[int] = ()) -> subprocess.Popen[bytes]:
        """`sftops retrain --reason REASON [--alarm ID]` in its own process (its lock and cooldown decide);
        ServingError if it cannot start. The child does not inherit the server's private MLflow client settings."""
        if self.params_file is None:
            raise ServingError("retraining is not wired to this server: start it with `sftops serve --params params.yaml` in the project")
        if self._retrain_proc is not None and self._retrain_proc.poll() is None:
            raise ServingError(f"a retrain started by this server is still running (pid {self._retrain_proc.pid})")
        self._retrain_proc = spawn_retrain(self.params_file, reason=reason, context=context, force=force,
                                           log_file=self.retrain_log, alarms=alarms)
        self.retrains.labels(reason=reason).inc()
        flags = "".join(f" --alarm {a}" for a in alarms) + (" --force" if force else "")
        log.warning("started `sftops retrain --reason %s%s` (pid %d)", reason, flags, self._retrain_proc.pid)
        return self._retrain_proc

    @property
    def retrain_log(self) -> Path:
        """Where retrains started by this server write their output."""
        return self.state_dir / "retrain-spawn.log"
