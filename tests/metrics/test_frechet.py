import importlib
import sys
import types

import numpy as np
import pytest
import torch
from scipy import linalg

from ganstyle.errors import GanstyleError
from ganstyle.metrics.features import RunningStats
from ganstyle.metrics.frechet import fid_from_features, frechet_distance, mean_cov


def scipy_fid(f1, f2):
    """The textbook computation, written out independently: scipy sqrtm of Σ₁Σ₂ in float64."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_closed_form_diagonal_gaussians():
    # commuting covariances: d² = |Δμ|² + Σ (√a − √b)²
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.1, 3, 16), rng.uniform(0.1, 3, 16)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_closed_form_rotated_scaled_gaussian():
    # Σ₂ = c²Σ₁ (any rotation): tr(Σ₁Σ₂)^½ = c·tr Σ₁, so d² = |Δμ|² + (1 − c)² tr Σ₁
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(32, 32)))
    s1 = q @ np.diag(rng.uniform(0.01, 2, 32)) @ q.T
    c = 1.7
    mu1, mu2 = np.zeros(32), np.full(32, 0.5)
    expected = 32 * 0.25 + (1 - c) ** 2 * np.trace(s1)
    assert frechet_distance(mu1, s1, mu2, c * c * s1) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_matches_scipy_on_random_features():
    rng = np.random.default_rng(2)
    f1 = rng.normal(size=(600, 64))
    f2 = rng.normal(size=(500, 64)) @ rng.normal(scale=0.3, size=(64, 64)) + 0.2
    ours = fid_from_features(f1, f2)
    assert ours == pytest.approx(scipy_fid(f1, f2), rel=1e-6)
    assert fid_from_features(f1, f2, method="sqrtm") == pytest.approx(ours, rel=1e-6)


def test_near_singular_covariances_stay_finite_and_agree():
    # fewer samples than dimensions: both covariances are singular
    rng = np.random.default_rng(3)
    f1, f2 = rng.normal(size=(40, 100)), rng.normal(size=(40, 100)) + 0.1
    ours = fid_from_features(f1, f2)
    assert np.isfinite(ours) and ours > 0
    assert ours == pytest.approx(fid_from_features(f1, f2, method="sqrtm"), rel=1e-5)


def test_mismatched_statistics_raise():
    with pytest.raises(GanstyleError, match="same feature extractor"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_streaming_stats_equal_numpy_in_float64():
    rng = np.random.default_rng(4)
    f = (rng.normal(size=(1000, 20)) + 1e4).astype(np.float32)  # large offset stresses naive sums
    stats = RunningStats()
    for lo in range(0, 1000, 137):
        stats.update(f[lo:lo + 137])
    mu, cov = mean_cov(f)
    np.testing.assert_allclose(stats.mean, f.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.cov, np.cov(f.astype(np.float64), rowvar=False), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cov, stats.cov, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ reference implementations


def _import_without_torchvision(module: str):
    """Import a reference package's metric module with a stand-in for torchvision.

    pytorch-fid and torch-fidelity import torchvision at module level (only for their
    networks and transforms, which these tests do not use); the real one cannot be
    imported here, so a module of inert placeholders takes its place for the import.
    """
    if importlib.util.find_spec(module.split(".")[0]) is None:
        pytest.skip(f"{module.split('.')[0]} is not installed (pip install --no-deps pytorch-fid torch-fidelity)")

    class Placeholder(torch.nn.Module):
        def __init__(self, *a, **k):
            super().__init__()

    class Stub(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return Placeholder

    saved = {k: v for k, v in sys.modules.items() if k == "torchvision" or k.startswith("torchvision.")}
    names = ["torchvision", "torchvision.transforms", "torchvision.models", "torchvision.models.inception",
             "torchvision.models.utils", "torchvision.transforms.functional", "torchvision.utils", "torchvision.io",
             "torchvision.datasets", "torchvision.ops"]
    for name in names:
        sys.modules[name] = Stub(name)
    for name in names[1:]:
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, sys.modules[name])
    sys.modules["torchvision"].__version__ = "0.0"
    try:
        return importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"cannot import {module} without torchvision: {exc}")
    finally:
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


def test_fid_equals_pytorch_fid():
    ref = _import_without_torchvision("pytorch_fid.fid_score")
    rng = np.random.default_rng(5)
    f1, f2 = rng.normal(size=(400, 48)), rng.normal(size=(300, 48)) * 1.3 + 0.1
    mu1, s1 = mean_cov(f1)
    mu2, s2 = mean_cov(f2)
    theirs = ref.calculate_frechet_distance(mu1, s1, mu2, s2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(theirs, rel=1e-6)


def test_fid_and_kid_equal_torch_fidelity():
    fid_mod = _import_without_torchvision("torch_fidelity.metric_fid")
    kid_mod = _import_without_torchvision("torch_fidelity.metric_kid")
    from ganstyle.metrics.kid import kernel_inception_distance

    rng = np.random.default_rng(6)
    f1 = rng.normal(size=(300, 32)).astype(np.float32)
    f2 = (rng.normal(size=(250, 32)) * 0.8 + 0.2).astype(np.float32)
    s1 = fid_mod.fid_features_to_statistics(torch.from_numpy(f1).double())
    s2 = fid_mod.fid_features_to_statistics(torch.from_numpy(f2).double())
    theirs = fid_mod.fid_statistics_to_metric(s1, s2, verbose=False)["frechet_inception_distance"]
    assert fid_from_features(f1, f2) == pytest.approx(theirs, rel=1e-6)
    kid_theirs = kid_mod.kid_features_to_metric(
        torch.from_numpy(f1), torch.from_numpy(f2), kid_subsets=10, kid_subset_size=200, rng_seed=7, verbose=False,
        kid_kernel="poly", kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None, kid_kernel_poly_coef0=1)
    mean, std = kernel_inception_distance(f1, f2, subsets=10, subset_size=200, seed=7)
    assert mean == pytest.approx(kid_theirs["kernel_inception_distance_mean"], rel=1e-5)
    assert std == pytest.approx(kid_theirs["kernel_inception_distance_std"], rel=1e-4)
