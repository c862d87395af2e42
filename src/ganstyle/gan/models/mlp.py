"""Fully connected GAN: noise -> any flat sample (2-D points, or images flattened).

The generator ends in ``tanh`` for images (data in [-1, 1]) and is linear for points,
whose coordinates are unbounded. The discriminator uses LeakyReLU(0.2) and, when
conditional, a projection head.

On 2-D point data (the ``ring8``/``grid25`` mixtures) the family follows PacGAN's setup
(Lin et al. 2018, after VEEGAN): a generator of ReLU + batch-norm layers fed a 2-d latent
and a discriminator of maxout units; see :data:`POINT_DEFAULTS` for why.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganstyle.gan.layers import ProjectionHead, minibatch_stddev

# Images (flattened): measured on ring8 before the point recipe existed; kept for images.
DEFAULTS = {"latent_dim": 16, "g_width": 256, "d_width": 256, "depth": 3, "g_lr": 1e-3, "d_lr": 1e-3, "r1_gamma": 1.0}
# 2-D mixtures, measured with benchmarks/mode_collapse.py (README "Mode collapse"): from PacGAN's
# setup we keep the 2-d latent, maxout D and batch 100; its 4x400 batch-norm G is ~4x slower per
# step and, in eval mode, batch norm's running statistics move samples off the 0.01-wide modes.
# A short-horizon EMA, a light R1 (in units of the data scale) and a linear LR decay over the
# second half sharpen the modes. R1 is applied lazily (every 4th D step, scaled by 4): it is a third
# of a step's cost, and the steps it saves buy longer training, which is what sharpens the modes
# most: the bridges a continuous G of a connected latent draws between grid25's modes thin out
# (grid25 seed 0: 66 % high quality after 4000 steps, 90 % after 8000, 95 % after 16000). The
# step count is part of the recipe: 16000 steps fit the 2-CPU-minute budget of the benchmark.
POINT_DEFAULTS = {"steps": 16000, "latent_dim": 2, "g_width": 128, "d_width": 128, "depth": 3, "batch_size": 100,
                  "g_lr": 1e-3, "d_lr": 1e-3, "beta1": 0.5, "r1_gamma": 0.01, "reg_every": 4, "ema_decay": 0.99, "lr_decay": 0.5}
# maxout pieces per discriminator unit on point data (PacGAN uses 5; 2 measured as good, cheaper)
MAXOUT_PIECES = 2
# batch norm in the generator on point data (PacGAN's choice; off, see above)
POINT_G_BATCH_NORM = False
POINT_DATASETS = ("ring8", "grid25")


def point_scale(data: str) -> float:
    """Per-coordinate standard deviation of a 2-D mixture: G and D work in units of it, so one
    recipe (learning rate, R1 gamma) fits ring8 (0.71) and grid25 (2.83) alike."""
    if data not in POINT_DATASETS:
        return 1.0
    from ganstyle.data.toy2d import toy_centers

    return float(toy_centers(data).pow(2).mean().sqrt())


def defaults_for(cfg) -> dict:
    """Family defaults for this run: PacGAN's recipe on 2-D mixtures, :data:`DEFAULTS` otherwise."""
    return dict(POINT_DEFAULTS if cfg.data in POINT_DATASETS else DEFAULTS)


def _mlp(dims: list[int], act: nn.Module, batch_norm: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b)] + ([nn.BatchNorm1d(b)] if batch_norm else []) + [act]
    return nn.Sequential(*layers)


class Maxout(nn.Module):
    """``max`` over ``pieces`` affine maps (Goodfellow et al. 2013): a piecewise-linear unit
    that lets D carve sharp, small regions such as ring8's 0.01-wide modes."""

    def __init__(self, in_features: int, out_features: int, pieces: int):
        super().__init__()
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # max(), not amax(): its backward scatters through the argmax instead of building a float
        # mask of ties, which made training steps on point data ~15 % slower
        return self.linear(x).unflatten(1, (-1, self.pieces)).max(2).values


class MLPGenerator(nn.Module):
    truncation = None

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], width: int, depth: int,
                 num_classes: int | None = None, batch_norm: bool = False, scale: float = 1.0):
        super().__init__()
        self.scale = scale
        self.latent_dim, self.num_classes, self.data_shape = latent_dim, num_classes, tuple(data_shape)
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        in_dim = latent_dim * (2 if num_classes else 1)
        self.body = _mlp([in_dim] + [width] * depth, nn.ReLU(), batch_norm)
        self.out = nn.Linear(width, math.prod(data_shape))
        self.squash = len(data_shape) == 3  # images live in [-1, 1]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], dim=1)
        x = self.out(self.body(z))
        if self.scale != 1.0:
            x = x * self.scale
        if self.squash:
            x = torch.tanh(x)
        return x.view(z.shape[0], *self.data_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, data_shape: tuple[int, ...], width: int, depth: int, num_classes: int | None = None,
                 mbstd_group: int = 0, maxout: int = 0, scale: float = 1.0):
        super().__init__()
        self.scale = scale
        self.mbstd_group = mbstd_group
        self.per_sample = not mbstd_group  # each logit depends on its own sample only (see GANTrainer.discriminate)
        dims = [math.prod(data_shape)] + [width] * depth
        if maxout:
            self.body = nn.Sequential(*[Maxout(a, b, maxout) for a, b in zip(dims[:-1], dims[1:])])
        else:
            self.body = _mlp(dims, nn.LeakyReLU(0.2))
        self.head = ProjectionHead(width + (1 if mbstd_group else 0), num_classes)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x.flatten(1) / self.scale if self.scale != 1.0 else x.flatten(1))
        if self.mbstd_group:
            h = minibatch_stddev(h, self.mbstd_group)
        return self.head(h, y)


def _points(data_shape) -> bool:
    return len(data_shape) == 1


def make_generator(cfg, data_shape, num_classes):
    return MLPGenerator(cfg.latent_dim, data_shape, cfg.g_width, cfg.depth, num_classes,
                        batch_norm=_points(data_shape) and POINT_G_BATCH_NORM, scale=point_scale(cfg.data))


def make_discriminator(cfg, data_shape, num_classes):
    # PacGAN packs points along the feature axis, so a packed D still sees a flat (1-D) shape
    return MLPDiscriminator(data_shape, cfg.d_width, cfg.depth, num_classes, cfg.mbstd_group,
                            maxout=MAXOUT_PIECES if _points(data_shape) else 0, scale=point_scale(cfg.data))
