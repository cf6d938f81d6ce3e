"""Each drift detector on synthetic data: calibrated under no shift, alarming under a real one."""

from __future__ import annotations

import numpy as np
import pytest

from sftops.drift import count_shift, ks_shift, label_shift, mmd_test, proportion_shift, psi

WINDOWS = 50
ALPHA = 0.05  # a lenient level so the false-alarm count is measurable in 50 windows


def _false_alarm_bound(windows: int, alpha: float) -> int:
    """A count exceeded with probability < 0.1% when alarms are Binomial(windows, alpha)."""
    from scipy import stats

    return int(stats.binom.ppf(0.999, windows, alpha))


def test_label_shift_is_calibrated_and_detects_a_changed_mix() -> None:
    rng = np.random.default_rng(0)
    mix = np.array([0.42, 0.40, 0.18])
    reference = rng.multinomial(3000, mix)
    null = [label_shift(reference, rng.choice(3, 500, p=mix), alpha=ALPHA) for _ in range(WINDOWS)]
    assert sum(r.alarm for r in null) <= _false_alarm_bound(WINDOWS, ALPHA)
    assert np.mean([r.p_value for r in null]) == pytest.approx(0.5, abs=0.15)  # p-values ~ uniform
    shifted = label_shift(reference, rng.choice(3, 500, p=[0.2, 0.3, 0.5]), alpha=ALPHA, psi_threshold=0.1)
    assert shifted.alarm and shifted.p_value < 1e-10 and shifted.score > 0.1


def test_psi_is_zero_for_equal_mixes_and_grows_with_the_shift() -> None:
    assert psi(np.array([50, 30, 20]), np.array([5, 3, 2])) == pytest.approx(0.0, abs=1e-12)
    small = psi(np.array([50, 30, 20]), np.array([45, 33, 22]))
    large = psi(np.array([50, 30, 20]), np.array([20, 30, 50]))
    assert 0 < small < 0.02 < 0.25 < large


def test_psi_threshold_mutes_a_significant_but_tiny_label_shift() -> None:
    reference = np.array([40_000, 40_000, 20_000])
    window = np.repeat([0, 1, 2], [4300, 3900, 1800])  # p << alpha with 10k samples, PSI ~ 0.003
    assert label_shift(reference, window, alpha=ALPHA).alarm
    muted = label_shift(reference, window, alpha=ALPHA, psi_threshold=0.1)
    assert not muted.alarm and muted.p_value < ALPHA


def test_ks_shift_is_calibrated_and_detects_lower_confidence() -> None:
    rng = np.random.default_rng(1)
    reference = rng.beta(8, 2, 2000)
    null = [ks_shift("confidence", reference, rng.beta(8, 2, 500), alpha=ALPHA) for _ in range(WINDOWS)]
    assert sum(r.alarm for r in null) <= _false_alarm_bound(WINDOWS, ALPHA)
    shifted = ks_shift("confidence", reference, rng.beta(5, 2, 500), alpha=ALPHA)
    assert shifted.alarm and shifted.score > 0.15


def test_ks_on_integer_lengths_stays_conservative_despite_ties() -> None:
    rng = np.random.default_rng(2)
    reference = rng.poisson(20, 2000)
    null = [ks_shift("length", reference, rng.poisson(20, 500), alpha=ALPHA) for _ in range(WINDOWS)]
    assert sum(r.alarm for r in null) <= _false_alarm_bound(WINDOWS, ALPHA)
    assert ks_shift("length", reference, rng.poisson(26, 500), alpha=ALPHA).alarm


def test_proportion_shift_is_calibrated_and_detects_more_unknown_tokens() -> None:
    rng = np.random.default_rng(3)
    null = [proportion_shift("unknown", 60, 3000, int(rng.binomial(500, 0.02)), 500, alpha=ALPHA) for _ in range(WINDOWS)]
    assert sum(r.alarm for r in null) <= _false_alarm_bound(WINDOWS, ALPHA)
    shifted = proportion_shift("unknown", 60, 3000, 40, 500, alpha=ALPHA)
    assert shifted.alarm and shifted.score == pytest.approx(0.06)
    assert proportion_shift("unknown", 0, 3000, 0, 500, alpha=ALPHA).p_value == 1.0


def test_mmd_permutation_p_values_are_uniform_under_no_shift() -> None:
    rng = np.random.default_rng(4)
    p_values = []
    for seed in range(40):
        x, y = rng.normal(size=(120, 16)), rng.normal(size=(100, 16))
        p_values.append(mmd_test(x, y, alpha=ALPHA, permutations=199, seed=seed).p_value)
    p_values = np.array(p_values)
    assert np.all((p_values > 0) & (p_values <= 1))
    assert np.mean(p_values < ALPHA) <= _false_alarm_bound(40, ALPHA) / 40
    assert np.mean(p_values) == pytest.approx(0.5, abs=0.12)


def test_mmd_detects_a_mean_shift_and_reaches_the_smallest_p_value() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(300, 32)), rng.normal(size=(300, 32)) + 0.3
    result = mmd_test(x, y, alpha=0.01, permutations=499, seed=0)
    assert result.alarm and result.p_value == pytest.approx(1 / 500) and result.score > 0


def test_mmd_of_identical_samples_has_p_value_one_and_is_seeded() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(80, 8))
    assert mmd_test(x, x, alpha=0.05, permutations=99).p_value == 1.0
    y = rng.normal(size=(80, 8))
    assert mmd_test(x, y, alpha=0.05, permutations=99, seed=3) == mmd_test(x, y, alpha=0.05, permutations=99, seed=3)


def test_mmd_rejects_mismatched_embedding_widths() -> None:
    with pytest.raises(ValueError, match="same width"):
        mmd_test(np.zeros((5, 4)), np.zeros((5, 3)), alpha=0.05)


def test_count_shift_compares_entity_type_counts_and_stays_quiet_without_any() -> None:
    shifted = count_shift("labels", np.array([400, 300, 200, 100]), np.array([20, 40, 60, 80]), alpha=ALPHA,
                          psi_threshold=0.1)
    assert shifted.alarm and shifted.score > 0.1 and shifted.n_window == 200 and shifted.n_reference == 1000
    same = count_shift("labels", np.array([400, 300, 200, 100]), np.array([80, 60, 40, 20]), alpha=ALPHA)
    assert not same.alarm and same.p_value == pytest.approx(1.0) and same.score == pytest.approx(0.0)
    empty = count_shift("labels", np.array([0, 0, 0, 0]), np.array([5, 0, 1, 0]), alpha=ALPHA)
    assert (empty.p_value, empty.score, empty.alarm) == (1.0, 0.0, False)
    with pytest.raises(ValueError, match="cover different classes"):
        count_shift("labels", np.array([1, 2, 3]), np.array([1, 2]), alpha=ALPHA)
