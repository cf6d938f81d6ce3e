"""sftops.evaluation._metrics: accuracy, macro-F1, per-class scores and the confusion matrix, with label names."""

from __future__ import annotations

import pytest

from sftops.data.labels import LabelMap
from sftops.evaluation import classification_metrics


def test_classification_metrics_numbers():
    labels = LabelMap(("a", "b", "c"))
    m = classification_metrics([0, 1, 2, 2], [0, 1, 1, 2], labels)
    assert m["accuracy"] == 0.75
    assert m["per_class"]["b"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
