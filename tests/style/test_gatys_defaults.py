"""The Gatys defaults chosen from benchmarks/gatys_convergence.py: L-BFGS with a line search that
restarts instead of stalling."""

import pytest
import torch

from ganstyle.errors import GanstyleError
from ganstyle.style.methods.gatys import GatysConfig, run_gatys

from .conftest import make_content, make_style


def test_default_lbfgs_lowers_the_loss_and_counts_steps(random_net):
    """The default optimiser (L-BFGS with line search) on a small pair: fewer steps than Adam's
    old 300, each lowering the loss, one history row per step."""
    cfg = GatysConfig(size=48, iterations=8, backbone="random", device="cpu", progress=False)
    assert cfg.optimizer == "lbfgs"
    h = run_gatys(make_content(48), [make_style(48)], cfg, backbone=random_net).history
    assert len(h) == 8
    assert h[-1]["total"] < 0.8 * h[0]["total"]  # h[0] is already after one step
    with pytest.raises(GanstyleError, match="--scale-iterations: got 1 value"):
        run_gatys(make_content(64), [make_style(64)], cfg, backbone=random_net, size=96, scales=2,
                  scale_iterations=[3])


def test_lbfgs_restarts_instead_of_stalling(random_net):
    """With style weight 1e3 the line search finds no decrease after two steps on this pair; the
    restart keeps the loss falling (it stayed flat for the remaining steps without it)."""
    cfg = GatysConfig(size=64, iterations=24, optimizer="lbfgs", style_weight=1e3, backbone="random",
                      device="cpu", progress=False)
    h = run_gatys(make_content(64), [make_style(64)], cfg, backbone=random_net).history
    assert h[-1]["style"] < 0.5 * h[3]["style"]
    assert all(torch.isfinite(torch.tensor(r["total"])) for r in h)
