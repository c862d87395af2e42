"""The Gatys defaults chosen from benchmarks/gatys_convergence.py: automatic coarse-to-fine levels,
twice the steps at each coarser level, and L-BFGS with a line search that does not stall."""

import pytest
import torch

from ganstyle.errors import GanstyleError
from ganstyle.style.gatys import GatysConfig, auto_scales, default_scale_iterations, run_gatys

from .conftest import make_content, make_style


def test_auto_scales_keep_the_coarsest_level_at_least_128px():
    assert [auto_scales(s) for s in (64, 200, 255, 256, 511, 512, 2048)] == [1, 1, 1, 2, 2, 3, 3]
    assert default_scale_iterations(25, 3) == [100, 50, 25]
    assert default_scale_iterations(7, 1) == [7]


def test_default_schedule_is_used_and_counted(random_net):
    cfg = GatysConfig(size=256, iterations=1, backbone="random", device="cpu", progress=False)
    result = run_gatys(make_content(64), [make_style(64)], cfg, backbone=random_net)
    assert result.sizes == [(128, 128), (256, 256)]
    assert [h["scale"] for h in result.history] == [0, 0, 1]
    with pytest.raises(GanstyleError, match="--scale-iterations: got 1 value"):
        run_gatys(make_content(64), [make_style(64)], cfg, backbone=random_net, scale_iterations=[3])
    with pytest.raises(GanstyleError, match="--scales"):
        run_gatys(make_content(64), [make_style(64)], cfg, backbone=random_net, scales=-1)


def test_lbfgs_restarts_instead_of_stalling(random_net):
    """With style weight 1e3 the line search finds no decrease after two steps on this pair; the
    restart keeps the loss falling (it stayed flat for the remaining steps without it)."""
    cfg = GatysConfig(size=64, iterations=24, optimizer="lbfgs", style_weight=1e3, backbone="random",
                      device="cpu", progress=False)
    h = run_gatys(make_content(64), [make_style(64)], cfg, backbone=random_net).history
    assert h[-1]["style"] < 0.5 * h[3]["style"]
    assert all(torch.isfinite(torch.tensor(r["total"])) for r in h)
