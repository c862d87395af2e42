import math

import numpy as np
import pytest

from ganstyle.errors import GanstyleError
from ganstyle.metrics.inception_score import inception_score
from ganstyle.metrics.kid import kernel_inception_distance
from ganstyle.metrics.modes import mode_coverage, toy_mode_coverage
from ganstyle.metrics.prdc import precision_recall


def brute_force_mmd2(x, y):
    d = x.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_equals_brute_force_mmd():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(25, 6)), rng.normal(size=(25, 6)) + 0.5
    mean, std = kernel_inception_distance(x, y, subsets=1, subset_size=25)
    assert mean == pytest.approx(brute_force_mmd2(x, y), rel=1e-10)
    assert std == 0.0


def test_kid_subsets_average_brute_force_values():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 4)), rng.normal(size=(30, 4)) * 1.5
    mean, std = kernel_inception_distance(x, y, subsets=5, subset_size=12, seed=3)
    draw = np.random.RandomState(3)
    values = []
    for _ in range(5):
        ix, iy = draw.choice(40, 12, replace=False), draw.choice(30, 12, replace=False)
        values.append(brute_force_mmd2(x[ix], y[iy]))
    assert mean == pytest.approx(np.mean(values), rel=1e-10)
    assert std == pytest.approx(np.std(values), rel=1e-8)


def test_kid_is_unbiased_near_zero_for_same_distribution():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    same, _ = kernel_inception_distance(x, y, subsets=20, subset_size=200)
    shifted, _ = kernel_inception_distance(x, y + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 0.02 < shifted


def test_inception_score_by_hand():
    # 4 confident samples spread evenly over 2 classes: p(y) uniform, each KL = log 2 -> IS = 2
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    assert inception_score(probs, splits=1, from_logits=False) == pytest.approx((2.0, 0.0))
    # all samples predicting the same distribution -> KL 0 -> IS = 1
    same = np.tile([0.2, 0.3, 0.5], (6, 1))
    assert inception_score(same, splits=2, from_logits=False)[0] == pytest.approx(1.0)


def test_inception_score_from_logits_matches_explicit_loops():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(20, 5)) * 3
    kls_per_split = []
    for s in range(2):
        chunk = logits[s * 10:(s + 1) * 10]
        p = [[math.exp(v) / sum(math.exp(u) for u in row) for v in row] for row in chunk]
        py = [sum(row[c] for row in p) / 10 for c in range(5)]
        kl = sum(sum(row[c] * math.log(row[c] / py[c]) for c in range(5)) for row in p) / 10
        kls_per_split.append(math.exp(kl))
    mean, std = inception_score(logits, splits=2)
    assert mean == pytest.approx(np.mean(kls_per_split), rel=1e-10)
    assert std == pytest.approx(np.std(kls_per_split), rel=1e-8)


def test_precision_recall_known_answers():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(500, 8))
    assert precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}
    other = rng.normal(size=(500, 8))
    pr = precision_recall(real, other)
    assert pr["precision"] > 0.85 and pr["recall"] > 0.85
    assert precision_recall(real, other + 100.0) == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_when_fake_is_a_subset():
    # real: two far-apart clusters; fake: only the first -> all fakes realistic, half the real data missed
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + 50
    fake = rng.normal(size=(300, 4))
    pr = precision_recall(np.concatenate([a, b]), fake, density_coverage=True)
    assert pr["precision"] > 0.9
    assert 0.4 < pr["recall"] < 0.52
    assert 0.4 < pr["coverage"] < 0.52


def test_density_and_coverage_for_identical_sets():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(300, 5))
    pr = precision_recall(x, x, density_coverage=True)
    assert pr["coverage"] == 1.0
    assert 0.8 < pr["density"] < 1.5


def test_precision_recall_needs_more_than_k_samples():
    with pytest.raises(GanstyleError, match="k=3"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)))


def _ring8(n, modes, rng, std=0.01):
    k = rng.choice(modes, n)
    ang = 2 * np.pi * k / 8
    return np.stack([np.cos(ang), np.sin(ang)], 1) + rng.normal(scale=std, size=(n, 2))


def test_mode_coverage_counts_only_visited_modes():
    rng = np.random.default_rng(7)
    res = toy_mode_coverage(_ring8(2500, [0, 3, 5], rng), "ring8")
    assert res["modes"] == 3
    # three equal modes out of eight: KL(p‖u) = log(8/3)
    assert res["rkl"] == pytest.approx(math.log(8 / 3), abs=0.01)


def test_perfect_sampler_covers_all_modes():
    rng = np.random.default_rng(8)
    res = toy_mode_coverage(_ring8(2500, range(8), rng), "ring8")
    assert res["modes"] == 8
    # a 2-D Gaussian puts 1 − e^{−4.5} ≈ 98.9% of its mass within 3σ
    assert 98.0 < res["hq"] < 99.6
    assert res["rkl"] < 0.01


def test_grid25_and_low_quality_samples():
    from ganstyle.data.toy2d import sample_toy2d

    import torch

    x, _ = sample_toy2d("grid25", 2500, torch.Generator().manual_seed(0))
    res = toy_mode_coverage(x, "grid25")
    assert res["modes"] == 25 and res["hq"] > 98.0
    # samples between modes are assigned but not high quality, so no mode counts as covered
    between = np.full((2500, 2), 1.0) + np.random.default_rng(9).normal(scale=0.01, size=(2500, 2))
    res = toy_mode_coverage(between, "grid25")
    assert res["modes"] == 0 and res["hq"] == 0.0


def test_mode_collapse_on_one_mode_gives_log_k():
    x = np.zeros((2500, 2)) + [1.0, 0.0]
    res = mode_coverage(x, np.array([[np.cos(a), np.sin(a)] for a in np.arange(8) * np.pi / 4]), 0.01)
    assert res["modes"] == 1 and res["rkl"] == pytest.approx(math.log(8))
