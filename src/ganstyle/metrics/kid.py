"""Kernel Inception Distance (Bińkowski et al. 2018).

KID is the unbiased estimate of the squared MMD between two feature sets under the
cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over random subsets. The
subsets are drawn the way torch-fidelity draws them (a ``np.random.RandomState(seed)``,
``choice(n, size, replace=False)`` for set A then set B, per subset), so with the same
seed and features the two agree to rounding. The reported spread is the standard
deviation of the per-subset estimates (``ddof=0``, also as torch-fidelity).
"""

from __future__ import annotations

import numpy as np

from ganstyle.errors import GanstyleError
from ganstyle.metrics.registry import MetricInputs, register_metric


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> np.ndarray:
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² (Gretton et al. 2012, eq. 3) with equal sample sizes, cubic kernel."""
    m = x.shape[0]
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    sum_xx = kxx.sum() - np.trace(kxx)
    sum_yy = kyy.sum() - np.trace(kyy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * kxy.sum() / (m * m))


def kernel_inception_distance(features_a, features_b, *, subsets: int = 100, subset_size: int = 1000,
                              seed: int = 2020) -> tuple[float, float]:
    """KID mean and std over ``subsets`` random subsets of ``subset_size`` (capped at the smaller set)."""
    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise GanstyleError(f"KID: feature sets must be (N, D) with the same D, got {a.shape} and {b.shape}")
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise GanstyleError("KID needs at least 2 samples on each side")
    rng = np.random.RandomState(seed)
    mmds = np.empty(subsets)
    for i in range(subsets):
        xa = a[rng.choice(len(a), size, replace=False)]
        xb = b[rng.choice(len(b), size, replace=False)]
        mmds[i] = mmd2_unbiased(xa, xb)
    return float(mmds.mean()), float(mmds.std())


@register_metric("kid", help="kernel inception distance: unbiased MMD^2, cubic kernel, mean and std over subsets")
def kid_metric(inputs: MetricInputs) -> list[dict]:
    subsets, n_fake, n_real = inputs.options.get("kid_subsets", 100), len(inputs.features), inputs.reference.n
    size = min(inputs.options.get("kid_subset_size", 1000), n_fake, n_real)
    if size == min(n_fake, n_real) and size >= 4:
        size //= 2  # subsets spanning a whole set would all be equal and the spread would read 0
    mean, std = kernel_inception_distance(inputs.features, inputs.reference.features, subsets=subsets,
                                          subset_size=size, seed=inputs.seed)
    return [inputs.record("kid", mean, std, subsets=subsets, subset_size=size)]
