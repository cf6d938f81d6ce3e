"""Drift monitoring inside the server: feed live predictions to a DriftMonitor, export gauges, trigger retrains.

`observe` only copies arrays into the window (request path); detectors run in one background
thread every `drift.check_every` texts. Each report is saved to `<drift.retrain.state_dir>/
drift_status.json` (so `sftops retrain` from cron sees alarms too) and, on an alarm, a retrain
is started as a separate process: the server never retrains in its own process.
"""

from __future__ import annotations

import logging
import math
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge
from threadpoolctl import threadpool_limits

from sftops.bundle import BundleManifest
from sftops.config import DriftConfig
from sftops.drift import DriftMonitor, DriftReport, Observations, ReferenceProfile
from sftops.drift.reference import DriftReference
from sftops.exceptions import RegistryError, ServingError
from sftops.retraining import retrain_status, save_drift_status, spawn_retrain

from .schemas import DriftCheck, DriftResponse, RetrainStatus

log = logging.getLogger(__name__)


class ObservedPrediction(Protocol):
    """What the monitor needs from one served prediction (serving.runtime.Prediction plus token counts)."""

    probabilities: dict[str, float]
    embedding: np.ndarray | None
    n_tokens: int
    n_unknown: int


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
    ) -> None:
        self.cfg = cfg
        self.state_dir = Path(project_dir) / cfg.retrain.state_dir
        self.params_file = Path(params_file) if params_file else None
        self._on_alarm = on_alarm or self._start_retrain
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

    def set_reference(self, profile: ReferenceProfile, labels: Sequence[str], version: str) -> None:
        """Start a fresh window against a (new) model's reference; call on load and on every hot swap."""
        if not self.cfg.enabled:
            return
        with self._lock:
            self._monitor = DriftMonitor(profile, self.cfg)
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
            profile = DriftReference.load(bundle_dir, file).profile(bundle_dir, variant)
        except RegistryError as exc:
            self.clear_reference(version, f"version {version} is not monitored: {exc}")
            return
        self.set_reference(profile, labels, version)

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
        if monitor.observe(batch):
            self._due.set()

    def observe_predictions(self, predictions: Sequence[ObservedPrediction], version: str | None = None) -> None:
        """`observe` for the runtime's Prediction objects (skipped when the model outputs no embedding).

        With `version`, predictions of another version than the monitored one (a batch that ran
        across a hot swap) are dropped rather than mixed into the new version's window.
        """
        if self._monitor is None or not predictions or predictions[0].embedding is None:
            return
        if version is not None and version != self._version:
            return
        self.observe(Observations(
            embeddings=np.stack([p.embedding for p in predictions]),
            probs=np.array([[p.probabilities[name] for name in self._labels] for p in predictions]),
            n_tokens=np.array([p.n_tokens for p in predictions]),
            n_unknown=np.array([p.n_unknown for p in predictions]),
        ))

    def check_now(self) -> DriftReport | None:
        """Evaluate synchronously (tests, admin); the background thread calls the same."""
        monitor = self._monitor
        if monitor is None:
            return None
        with threadpool_limits(1):  # one core for the detectors' BLAS; the batch workers keep the rest
            report = monitor.evaluate()
        if monitor is not self._monitor:  # a hot swap happened meanwhile: this report is about the old model
            return report
        self._publish(report)
        return report

    def status(self) -> DriftResponse:
        """The body of GET /v1/drift: the last report, the model version it concerns, and the retrain status."""
        monitor, last = self._monitor, self._last
        return DriftResponse(
            enabled=self.cfg.enabled,
            model_version=self._version,
            monitoring=monitor is not None,
            detail=self._detail,
            alarm=bool(last and last.alarm),
            window=monitor.window_size if monitor else 0,
            observed=monitor.observed_total if monitor else 0,
            report=DriftCheck.model_validate(last.to_dict()) if last else None,
            retrain=RetrainStatus.model_validate(retrain_status(self.state_dir, self.cfg.retrain.expanded_lock_url())),
        )

    def close(self) -> None:
        """Stop the background checks (a retrain already started keeps running on its own)."""
        self._stop.set()
        self._due.set()
        if self._worker is not None:
            self._worker.join(timeout=10)

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
            except Exception:  # the monitor must never take the server down
                log.exception("drift check failed")

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
        try:
            save_drift_status(self.state_dir, payload)
        except OSError as exc:
            log.warning("could not save the drift status to %s: %s", self.state_dir, exc)
        if report.alarm:
            self.alarms.inc()
            failing = [r.name for r in report.detectors if r.alarm]
            log.warning("drift alarm on version %s: %s", self._version, ", ".join(failing))
            self._on_alarm(report)

    def start_retrain(self, reason: str, *, force: bool = False, context: dict | None = None) -> subprocess.Popen[bytes]:
        """`sftops retrain --reason REASON` in its own process (its lock and cooldown decide); ServingError if it cannot start."""
        if self.params_file is None:
            raise ServingError("retraining is not wired to this server: start it with `sftops serve --params params.yaml` in the project")
        if self._retrain_proc is not None and self._retrain_proc.poll() is None:
            raise ServingError(f"a retrain started by this server is still running (pid {self._retrain_proc.pid})")
        self._retrain_proc = spawn_retrain(self.params_file, reason=reason, context=context, force=force,
                                           log_file=self.retrain_log)
        log.warning("started `sftops retrain --reason %s%s` (pid %d)", reason, " --force" if force else "", self._retrain_proc.pid)
        return self._retrain_proc

    @property
    def retrain_log(self) -> Path:
        """Where retrains started by this server write their output."""
        return self.state_dir / "retrain-spawn.log"

    def _start_retrain(self, report: DriftReport) -> None:
        """Default alarm action: a drift retrain, unless drift.retrain.on_drift is off or one is running already."""
        if not self.cfg.retrain.on_drift or self.params_file is None:
            return
        context = {"model_version": self._version, "window_size": report.window_size,
                   "failing": [r.name for r in report.detectors if r.alarm]}
        try:
            self.start_retrain("drift", context=context)
        except ServingError:
            return  # this replica already started one that is still running
