"""Embedding drift: maximum mean discrepancy with an RBF kernel and a seeded permutation test.

The kernel matrix of the pooled sample is computed once; every permutation is a reweighting
of it, so P permutations cost one (P x N) @ (N x N) matrix product instead of P kernel builds.
"""

from __future__ import annotations

import numpy as np

from ._result import DetectorResult

_CHUNK = 256  # permutations per matrix product (bounds memory at _CHUNK x N floats)


def rbf_kernel(z: np.ndarray) -> tuple[np.ndarray, float]:
    """RBF kernel matrix of the rows of `z` with the median heuristic: sigma = median pairwise distance."""
    z = np.asarray(z, dtype=np.float32)
    sq = np.einsum("ij,ij->i", z, z)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (z @ z.T), 0.0)
    upper = d2[np.triu_indices(len(z), k=1)]
    median = float(np.median(upper)) if upper.size else 1.0
    if median <= 0:
        median = 1.0  # all points identical: any bandwidth gives MMD 0
    return np.exp(-d2 / (2.0 * median)), median


def _mmd2(kernel: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Biased MMD^2 for each row of weights (+1/n on one sample, -1/m on the other): w K w^T."""
    return np.einsum("pi,pi->p", weights @ kernel, weights)


def mmd_test(
    reference: np.ndarray, window: np.ndarray, *, alpha: float, permutations: int = 1000, seed: int = 0
) -> DetectorResult:
    """MMD^2 between two samples of embeddings, with a permutation p-value (1 + #{perm >= obs}) / (1 + P)."""
    x = np.asarray(reference, dtype=np.float32)
    y = np.asarray(window, dtype=np.float32)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"embeddings must be 2-D with the same width, got {x.shape} and {y.shape}")
    n, m = len(x), len(y)
    kernel, _ = rbf_kernel(np.vstack([x, y]))
    base = np.concatenate([np.full(n, 1.0 / n), np.full(m, -1.0 / m)]).astype(np.float32)
    observed = float(_mmd2(kernel, base[None, :])[0])
    rng = np.random.default_rng(seed)
    exceed = 0
    done = 0
    while done < permutations:
        size = min(_CHUNK, permutations - done)
        weights = rng.permuted(np.tile(base, (size, 1)), axis=1)
        # a tiny tolerance keeps float32 ties (identical samples) counted as exceeding
        exceed += int(np.sum(_mmd2(kernel, weights) >= observed - 1e-7))
        done += size
    p_value = (1 + exceed) / (1 + permutations)
    return DetectorResult(
        name="embedding", score=max(observed, 0.0), p_value=p_value, alarm=bool(p_value < alpha),
        n_window=m, n_reference=n, test=f"MMD (RBF, median heuristic), {permutations} permutations",
    )
