"""DriftMonitor: bounded window, cadence, warm-up, Bonferroni-combined alarms; the drift params section."""

from __future__ import annotations

import numpy as np
import pytest

from sftops.config import DriftConfig, parse_params
from sftops.drift import DriftMonitor, Observations, ReferenceProfile
from sftops.exceptions import ConfigError

DIM, K = 16, 3
MIX = np.array([0.45, 0.4, 0.15])


def _traffic(rng: np.random.Generator, n: int, shift: float = 0.0, unk_rate: float = 0.05) -> Observations:
    labels = rng.choice(K, n, p=MIX)
    logits = rng.normal(size=(n, K)) + 2.5 * np.eye(K)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    emb = rng.normal(size=(n, DIM)) + shift
    tokens = rng.poisson(22, n) + 3
    unknown = rng.binomial(1, unk_rate, n)
    return Observations(emb, probs, tokens, unknown)


def _reference(rng: np.random.Generator, n: int = 1500) -> ReferenceProfile:
    obs = _traffic(rng, n)
    return ReferenceProfile(
        embeddings=obs.embeddings, label_counts=np.bincount(obs.probs.argmax(1), minlength=K),
        confidences=obs.probs.max(1), token_lengths=obs.n_tokens,
        unknown_hits=int((obs.n_unknown > 0).sum()), unknown_trials=n,
    )


CFG = DriftConfig(window=200, check_every=50, min_samples=100, p_value=0.05, mmd_permutations=199, mmd_reference_size=400)


def test_observe_signals_an_evaluation_every_check_every_observations() -> None:
    rng = np.random.default_rng(0)
    monitor = DriftMonitor(_reference(rng), CFG)
    due = [monitor.observe(_traffic(rng, 20)) for _ in range(10)]
    assert due == [False, False, True, False, True, False, False, True, False, True]
    assert monitor.observed_total == 200


def test_window_is_bounded_and_warms_up_before_testing() -> None:
    rng = np.random.default_rng(1)
    monitor = DriftMonitor(_reference(rng), CFG)
    monitor.observe(_traffic(rng, 60))
    report = monitor.evaluate()
    assert report.state == "warming_up" and report.window_size == 60 and not report.detectors
    monitor.observe(_traffic(rng, 500))
    report = monitor.evaluate()
    assert report.window_size == 200 and report.observed_total == 560
    assert {d.name for d in report.detectors} == {"labels", "confidence", "length", "unknown", "embedding"}
    assert report.detector_alpha == pytest.approx(0.05 / 5)


def test_window_keeps_the_newest_observations() -> None:
    rng = np.random.default_rng(2)
    monitor = DriftMonitor(_reference(rng), CFG)
    monitor.observe(_traffic(rng, 250, shift=3.0))  # old, shifted: must fall out of the window
    monitor.observe(_traffic(rng, 200))
    assert not monitor.evaluate().alarm


def test_in_distribution_traffic_rarely_alarms_over_many_windows() -> None:
    rng = np.random.default_rng(3)
    reference = _reference(rng)
    alarms = 0
    for _ in range(20):
        monitor = DriftMonitor(reference, CFG)
        monitor.observe(_traffic(rng, 200))
        alarms += monitor.evaluate().alarm
    assert alarms <= 3  # family-wise rate 0.05 per evaluation: P(>3 of 20) < 2%


@pytest.mark.parametrize(
    ("kwargs", "detector"),
    [({"shift": 0.4}, "embedding"), ({"unk_rate": 0.3}, "unknown")],
)
def test_shifted_traffic_alarms_within_one_window(kwargs: dict, detector: str) -> None:
    rng = np.random.default_rng(4)
    monitor = DriftMonitor(_reference(rng), CFG)
    monitor.observe(_traffic(rng, 200, **kwargs))
    report = monitor.evaluate()
    by_name = {d.name: d for d in report.detectors}
    assert report.alarm and by_name[detector].alarm
    assert report.to_dict()["detectors"][detector]["p_value"] < CFG.detector_alpha


def test_observe_rejects_a_batch_of_the_wrong_shape() -> None:
    rng = np.random.default_rng(5)
    monitor = DriftMonitor(_reference(rng), CFG)
    bad = _traffic(rng, 4)
    with pytest.raises(ValueError, match=r"probs must be \(batch, 3\)"):
        monitor.observe(Observations(bad.embeddings, bad.probs[:, :2], bad.n_tokens, bad.n_unknown))
    with pytest.raises(ValueError, match="disagree on batch size"):
        Observations(bad.embeddings, bad.probs[:3], bad.n_tokens, bad.n_unknown)


@pytest.mark.parametrize(
    ("drift", "message"),
    [
        ({"window": 100, "min_samples": 200}, "drift: min_samples (200) must not exceed window (100)"),
        ({"p_value": 0.01, "mmd_permutations": 100}, "use at least 500$"),
        ({"detectors": ["labels", "colour"]}, "drift.detectors.1"),
        ({"retrain": {"min_feedback": 0}}, "drift.retrain.min_feedback"),
        ({"window": 10, "min_samples": 5, "bogus": 1}, "drift.bogus: unknown key"),
    ],
)
def test_bad_drift_params_name_the_key(drift: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_params({"drift": drift})
