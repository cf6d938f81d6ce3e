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


# An NER model's traffic: entities per text, each of one of T types; a confidence per text.
T = 4
TYPE_MIX = np.array([0.4, 0.3, 0.2, 0.1])


def _tagged(rng: np.random.Generator, n: int, mix: np.ndarray = TYPE_MIX, rate: float = 0.8) -> Observations:
    per_text = rng.poisson(rate, n)
    counts = np.stack([rng.multinomial(k, mix) for k in per_text]) if n else np.zeros((0, T), dtype=int)
    return Observations.tagged(
        rng.normal(size=(n, DIM)), counts, rng.beta(8, 2, n), rng.poisson(22, n) + 3, rng.binomial(1, 0.05, n)
    )


def _tagged_reference(obs: Observations) -> ReferenceProfile:
    assert obs.entity_counts is not None and obs.confidence is not None
    return ReferenceProfile(
        embeddings=obs.embeddings, label_counts=obs.entity_counts.sum(0), confidences=obs.confidence,
        token_lengths=obs.n_tokens, unknown_hits=int((obs.n_unknown > 0).sum()), unknown_trials=len(obs),
        entities_per_text=obs.entity_counts.sum(1),
    )


def test_ner_reference_runs_the_entity_type_mix_and_entities_per_text_among_six_tests() -> None:
    rng = np.random.default_rng(10)
    sample = _tagged(rng, 1500)
    monitor = DriftMonitor(_tagged_reference(sample), CFG)
    monitor.observe(_tagged(rng, 200))
    report = monitor.evaluate()
    assert [d.name for d in report.detectors] == ["labels", "entities", "confidence", "length", "unknown", "embedding"]
    assert report.detector_alpha == pytest.approx(0.05 / 6) and monitor.tests == 6


def test_ner_reference_itself_never_alarms_and_fresh_traffic_rarely_does() -> None:
    rng = np.random.default_rng(11)
    sample = _tagged(rng, 1500)
    reference = _tagged_reference(sample)
    itself = DriftMonitor(reference, CFG)
    itself.observe(Observations.tagged(sample.embeddings[:200], sample.entity_counts[:200], sample.confidence[:200],
                                       sample.n_tokens[:200], sample.n_unknown[:200]))
    report = itself.evaluate()
    assert report.state == "ok" and not any(d.alarm for d in report.detectors)
    alarms = 0
    for _ in range(20):
        monitor = DriftMonitor(reference, CFG)
        monitor.observe(_tagged(rng, 200))
        alarms += monitor.evaluate().alarm
    assert alarms <= 3  # family-wise rate 0.05 per evaluation: P(>3 of 20) < 2%


@pytest.mark.parametrize(
    ("kwargs", "detector", "quiet"),
    [
        ({"mix": np.array([0.1, 0.2, 0.3, 0.4])}, "labels", "entities"),  # same count, other types
        ({"rate": 2.0}, "entities", "labels"),  # same types, many more entities per text
    ],
)
def test_ner_window_alarms_when_the_entity_mix_or_count_shifts(kwargs: dict, detector: str, quiet: str) -> None:
    rng = np.random.default_rng(12)
    monitor = DriftMonitor(_tagged_reference(_tagged(rng, 1500)), CFG)
    monitor.observe(_tagged(rng, 200, **kwargs))
    by_name = {d.name: d for d in monitor.evaluate().detectors}
    assert by_name[detector].alarm and by_name[detector].p_value < monitor.alpha
    assert not by_name[quiet].alarm
    if detector == "labels":
        assert by_name["labels"].score >= CFG.psi_threshold and by_name["labels"].n_window > 0


def test_ner_reference_without_entities_is_usable_and_window_entities_alarm() -> None:
    rng = np.random.default_rng(13)
    monitor = DriftMonitor(_tagged_reference(_tagged(rng, 600, rate=0.0)), CFG)
    monitor.observe(_tagged(rng, 200, rate=0.0))
    assert not monitor.evaluate().alarm
    monitor.observe(_tagged(rng, 200, rate=1.0))
    by_name = {d.name: d for d in monitor.evaluate().detectors}
    assert by_name["entities"].alarm
    assert (by_name["labels"].p_value, by_name["labels"].alarm) == (1.0, False)  # no reference mix to compare with


def test_ner_monitor_refuses_classification_batches_and_too_few_permutations() -> None:
    rng = np.random.default_rng(14)
    reference = _tagged_reference(_tagged(rng, 300))
    monitor = DriftMonitor(reference, CFG)
    with pytest.raises(ValueError, match="classification batch cannot be observed against a token_classification"):
        monitor.observe(_traffic(rng, 5))
    with pytest.raises(ValueError, match=r"entity_counts must be \(batch, 4\)"):
        bad = _tagged(rng, 5)
        monitor.observe(Observations.tagged(bad.embeddings, bad.entity_counts[:, :3], bad.confidence, bad.n_tokens,
                                            bad.n_unknown))
    with pytest.raises(ValueError, match="use at least 600"):  # 5 detectors but 6 tests: 500 would do for a classifier
        DriftMonitor(reference, DriftConfig(window=200, min_samples=100, p_value=0.01, mmd_permutations=500))
    with pytest.raises(ValueError, match="either class probabilities or entity counts"):
        Observations(bad.embeddings, None, bad.n_tokens, bad.n_unknown)
