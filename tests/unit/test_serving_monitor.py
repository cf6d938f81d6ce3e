"""serving.monitor.ServingMonitor: gauges, background checks, saved drift status, the alarm hook, hot swap."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from prometheus_client import CollectorRegistry

from serving.monitor import ServingMonitor
from sftops.config import DriftConfig
from sftops.drift import Observations, ReferenceProfile

LABELS = ["negative", "neutral", "positive"]
CFG = DriftConfig(window=150, check_every=50, min_samples=100, p_value=0.05, mmd_permutations=199, min_check_interval_s=0)


def _batch(rng: np.random.Generator, n: int, shift: float = 0.0) -> Observations:
    logits = rng.normal(size=(n, 3)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return Observations(rng.normal(size=(n, 8)) + shift, probs, rng.poisson(20, n), rng.binomial(1, 0.05, n))


def _profile(rng: np.random.Generator) -> ReferenceProfile:
    b = _batch(rng, 800)
    return ReferenceProfile(b.embeddings, np.bincount(b.probs.argmax(1), minlength=3), b.probs.max(1),
                            b.n_tokens, int((b.n_unknown > 0).sum()), 800)


def _gauge(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_checks_run_in_the_background_publish_gauges_and_fire_on_alarm(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    registry = CollectorRegistry()
    alarms = []
    monitor = ServingMonitor(CFG, registry=registry, project_dir=tmp_path, on_alarm=alarms.append)
    monitor.set_reference(_profile(rng), LABELS, version="3")
    try:
        for _ in range(3):
            monitor.observe(_batch(rng, 50))  # checks at 100 (min_samples) and 150 texts, in the background
        deadline = time.monotonic() + 60  # generous: 2 shared cores
        status_file = tmp_path / "retrain/drift_status.json"  # written by every check that saw min_samples texts

        def checked_window() -> int:
            return json.loads(status_file.read_text())["window_size"] if status_file.exists() else 0

        while checked_window() < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gauge(registry, "sftops_drift_alarm") == 0 and not alarms
        assert _gauge(registry, "sftops_drift_window_size") == 150
        assert 0 < _gauge(registry, "sftops_drift_p_value", detector="embedding") <= 1
        saved = json.loads((tmp_path / "retrain/drift_status.json").read_text())
        assert saved["state"] == "ok" and saved["model_version"] == "3"

        monitor.observe(_batch(rng, 150, shift=1.0))
        report = monitor.check_now()
        assert report.alarm and alarms and alarms[-1] is report
        assert _gauge(registry, "sftops_drift_alarm") == 1
        assert _gauge(registry, "sftops_drift_p_value", detector="embedding") < CFG.detector_alpha
        status = monitor.status()
        assert (status.report.state, status.alarm, status.model_version, status.window) == ("alarm", True, "3", 150)
        assert status.report.detectors["embedding"].p_value < CFG.detector_alpha
        assert status.retrain.status is None and status.retrain.running is False
    finally:
        monitor.close()


def test_a_hot_swap_starts_a_fresh_window(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    monitor = ServingMonitor(CFG, registry=CollectorRegistry(), project_dir=tmp_path, on_alarm=lambda r: None)
    monitor.set_reference(_profile(rng), LABELS, version="3")
    monitor.observe(_batch(rng, 120, shift=1.0))
    monitor.set_reference(_profile(rng), LABELS, version="4")
    assert (monitor.status().observed, monitor.status().model_version) == (0, "4")
    assert monitor.check_now().state == "warming_up"
    monitor.close()


def test_observe_predictions_reads_runtime_predictions_in_label_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    monitor = ServingMonitor(CFG, registry=CollectorRegistry(), project_dir=tmp_path)
    monitor.set_reference(_profile(rng), LABELS, version="1")
    preds = [SimpleNamespace(probabilities={"positive": 0.7, "negative": 0.1, "neutral": 0.2},
                             embedding=np.zeros(8, np.float32), n_tokens=12, n_unknown=1)] * 4
    monitor.observe_predictions(preds)
    assert monitor.status().observed == 4
    monitor.observe_predictions(preds, version="0")  # a batch of the version before a hot swap
    assert monitor.status().observed == 4
    window_labels = monitor._monitor._labels.snapshot()  # noqa: SLF001 - the label ids recorded
    assert window_labels.tolist() == [2, 2, 2, 2]
    monitor.close()


def test_disabled_monitor_observes_nothing(tmp_path: Path) -> None:
    monitor = ServingMonitor(DriftConfig(enabled=False), registry=CollectorRegistry(), project_dir=tmp_path)
    monitor.set_reference(_profile(np.random.default_rng(3)), LABELS, version="1")
    monitor.observe(_batch(np.random.default_rng(4), 10))
    status = monitor.status()
    assert (status.enabled, status.monitoring, status.model_version, status.observed, status.report) == (
        False, False, None, 0, None)
    assert "drift.enabled: false" in status.detail


def test_checks_that_fall_due_quickly_coalesce_to_one_per_interval(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    registry = CollectorRegistry()
    cfg = CFG.model_copy(update={"min_check_interval_s": 1.0})
    monitor = ServingMonitor(cfg, registry=registry, project_dir=tmp_path, on_alarm=lambda report: None)
    monitor.set_reference(_profile(rng), LABELS, version="1")

    def checks_reach(n: int) -> float:
        deadline = time.monotonic() + 30
        while (_gauge(registry, "sftops_drift_checks_total") or 0) < n and time.monotonic() < deadline:
            time.sleep(0.005)
        assert _gauge(registry, "sftops_drift_checks_total") == n
        return time.monotonic()

    try:
        monitor.observe(_batch(rng, 50))  # a check_every boundary: the first check runs at once
        first = checks_reach(1)
        for _ in range(6):  # six more boundaries within milliseconds
            monitor.observe(_batch(rng, 50))
        second = checks_reach(2)
        assert second - first >= 0.8  # waited for the interval (measured from the first check's start)
        time.sleep(1.5)
        assert _gauge(registry, "sftops_drift_checks_total") == 2  # the six became one check
    finally:
        monitor.close()
