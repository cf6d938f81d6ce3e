"""Reliability bins and ECE, on numbers worked out by hand."""

from __future__ import annotations

import pytest

from sftops.evaluation import reliability


def test_bins_and_ece_match_the_hand_computation() -> None:
    # bin 0.6-0.7: conf 0.6, 0.65 (one right) -> acc 0.5, conf 0.625; bin 0.9-1.0: conf 0.9, 1.0 (both right)
    table = reliability([0.6, 0.65, 0.9, 1.0], [True, False, True, True], n_bins=10)
    used = {round(b.low, 1): b for b in table.bins if b.count}
    assert set(used) == {0.6, 0.9} and table.n == 4
    assert used[0.6].count == 2 and used[0.6].accuracy == 0.5 and used[0.6].confidence == pytest.approx(0.625)
    assert used[0.9].count == 2 and used[0.9].accuracy == 1.0 and used[0.9].confidence == pytest.approx(0.95)
    assert table.ece == pytest.approx((2 * 0.125 + 2 * 0.05) / 4)


def test_perfect_calibration_and_bad_input() -> None:
    assert reliability([1.0, 1.0], [True, True]).ece == 0.0
    assert reliability([], []).ece == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        reliability([0.5], [True, False])
