"""2-D toy mixtures (PacGAN/VEEGAN protocol) and scikit-learn's bundled digits."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from ganstyle.data import digits as digits_mod
from ganstyle.data import load_dataset
from ganstyle.data.toy2d import TOY_STD, sample_toy2d, toy_centers
from ganstyle.errors import GanstyleError


def test_ring8_centres_and_std_as_specified():
    expected = [(math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)) for k in range(8)]
    centres = toy_centers("ring8")
    assert centres.dtype == torch.float64 and centres.shape == (8, 2)
    np.testing.assert_allclose(centres.numpy(), np.array(expected), rtol=0, atol=1e-15)
    assert TOY_STD["ring8"] == 0.01


def test_grid25_centres_and_std_as_specified():
    centres = {tuple(c) for c in toy_centers("grid25").tolist()}
    assert centres == set(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2))
    assert TOY_STD["grid25"] == 0.05


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_samples_match_the_mixture(name):
    n = 40_000
    ds = load_dataset(name, n=n, seed=0)
    assert ds.x.shape == (n, 2) and ds.x.dtype == torch.float32 and ds.kind == "points"
    centres, std = ds.meta["centers"], ds.meta["std"]
    assert torch.equal(centres, toy_centers(name)) and std == TOY_STD[name]
    k = len(centres)
    counts = torch.bincount(ds.y, minlength=k).double()
    assert (counts - n / k).abs().max() < 5 * math.sqrt(n / k), "modes must be equally likely"
    x = ds.x.double()
    for mode in range(k):
        pts = x[ds.y == mode]
        m = len(pts)
        # Mean within 5 standard errors; per-axis std within 5 % (sampling error ~ 1/sqrt(2m)).
        assert (pts.mean(0) - centres[mode]).abs().max() < 5 * std / math.sqrt(m)
        np.testing.assert_allclose(pts.std(0).numpy(), [std, std], rtol=0.05)
    # Every point is nearest to the centre of the mode it was drawn from.
    nearest = torch.cdist(x, centres).argmin(1)
    assert torch.equal(nearest, ds.y)


def test_toy_sampling_is_seeded():
    a = load_dataset("ring8", n=100, seed=3)
    b = load_dataset("ring8", n=100, seed=3)
    c = load_dataset("ring8", n=100, seed=4)
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    x, mode = sample_toy2d("grid25", 10, torch.Generator().manual_seed(0))
    assert x.shape == (10, 2) and mode.max() < 25


def test_digits_values_labels_and_shapes():
    from sklearn.datasets import load_digits

    ref = load_digits()
    ds = load_dataset("digits")
    assert ds.x.shape == (1797, 1, 8, 8) and ds.x.dtype == torch.float32
    np.testing.assert_allclose(ds.x[:, 0].numpy(), ref.images / 16 * 2 - 1, atol=1e-6)
    assert ds.y.tolist() == ref.target.tolist()
    assert ds.num_classes == 10 and ds.class_names == [str(i) for i in range(10)]
    big = load_dataset("digits", image_size=32, channels=3)
    assert big.x.shape == (1797, 3, 32, 32)
    assert big.x.min() >= -1 and big.x.max() <= 1
    assert torch.equal(big.x[:, 0], big.x[:, 2])
    # Upsampling keeps the mean intensity of each digit (up to border effects).
    torch.testing.assert_close(big.x.mean(dim=(1, 2, 3)), ds.x.mean(dim=(1, 2, 3)), atol=0.03, rtol=0)
    with pytest.raises(GanstyleError, match="channels must be 1 or 3"):
        load_dataset("digits", channels=2)
    with pytest.raises(GanstyleError, match="unknown split"):
        load_dataset("digits", split="valid")


def test_digits_fit_test_split_disjoint_and_stratified():
    _, labels = digits_mod.digits_arrays()
    fit_idx, test_idx = digits_mod.split_indices(labels)
    assert set(fit_idx).isdisjoint(test_idx)
    assert sorted(np.concatenate([fit_idx, test_idx]).tolist()) == list(range(len(labels)))
    for c in range(10):
        total = int((labels == c).sum())
        assert int((labels[test_idx] == c).sum()) == round(total * 0.2)
    fit, test = load_dataset("digits", split="fit"), load_dataset("digits", split="test")
    assert len(fit) == len(fit_idx) and len(test) == len(test_idx)
    assert torch.equal(test.y, torch.from_numpy(labels[test_idx]))
    # No test image appears among the fit images.
    fit_rows = {tuple(r) for r in fit.x.flatten(1).tolist()}
    assert not any(tuple(r) in fit_rows for r in test.x.flatten(1).tolist())
    again = digits_mod.split_indices(labels)
    assert np.array_equal(again[1], test_idx), "the split is fixed"
