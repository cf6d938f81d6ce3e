"""Drift detection: compare a sliding window of live inputs and outputs with a reference profile.

Detectors (pure numpy/scipy), each returning a score, a p-value and an alarm flag:
labels (chi-square + PSI; for an NER model the mix of predicted entity types, plus
`entities`: entities per text, KS), confidence and token length (KS), unknown-token rate
(two-proportion z), embeddings (MMD with an RBF kernel and a permutation test).
`DriftMonitor` combines them with a Bonferroni correction.
"""

from ._distribution import ks_shift, proportion_shift
from ._labels import count_shift, label_shift, psi
from ._mmd import mmd_test, rbf_kernel
from ._monitor import DriftMonitor, DriftReport
from ._profile import Observations, ReferenceProfile
from ._result import DetectorResult

__all__ = [
    "DetectorResult",
    "DriftMonitor",
    "DriftReport",
    "Observations",
    "ReferenceProfile",
    "count_shift",
    "ks_shift",
    "label_shift",
    "mmd_test",
    "proportion_shift",
    "psi",
    "rbf_kernel",
]
