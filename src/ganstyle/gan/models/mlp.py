"""Fully connected GAN: noise -> any flat sample (2-D points, or images flattened).

The generator ends in ``tanh`` for images (data in [-1, 1]) and is linear for points,
whose coordinates are unbounded. The discriminator uses LeakyReLU(0.2) and, when
conditional, a projection head.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganstyle.gan.layers import ProjectionHead, minibatch_stddev

# Measured on ring8 (benchmarks/ring8_modes.py): without R1 the generator hops between
# modes and its weight average sits between them; R1 plus a high learning rate keeps all
# eight modes and lets the averaged generator sharpen onto them.
DEFAULTS = {"latent_dim": 16, "g_width": 256, "d_width": 256, "depth": 3, "g_lr": 1e-3, "d_lr": 1e-3, "r1_gamma": 1.0}


def _mlp(dims: list[int], act: nn.Module) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), act]
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    truncation = None

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], width: int, depth: int,
                 num_classes: int | None = None):
        super().__init__()
        self.latent_dim, self.num_classes, self.data_shape = latent_dim, num_classes, tuple(data_shape)
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        in_dim = latent_dim * (2 if num_classes else 1)
        self.body = _mlp([in_dim] + [width] * depth, nn.ReLU())
        self.out = nn.Linear(width, math.prod(data_shape))
        self.squash = len(data_shape) == 3  # images live in [-1, 1]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], dim=1)
        x = self.out(self.body(z))
        if self.squash:
            x = torch.tanh(x)
        return x.view(z.shape[0], *self.data_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, data_shape: tuple[int, ...], width: int, depth: int, num_classes: int | None = None,
                 mbstd_group: int = 0):
        super().__init__()
        self.mbstd_group = mbstd_group
        self.body = _mlp([math.prod(data_shape)] + [width] * depth, nn.LeakyReLU(0.2))
        self.head = ProjectionHead(width + (1 if mbstd_group else 0), num_classes)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x.flatten(1))
        if self.mbstd_group:
            h = minibatch_stddev(h, self.mbstd_group)
        return self.head(h, y)


def make_generator(cfg, data_shape, num_classes):
    return MLPGenerator(cfg.latent_dim, data_shape, cfg.g_width, cfg.depth, num_classes)


def make_discriminator(cfg, data_shape, num_classes):
    return MLPDiscriminator(data_shape, cfg.d_width, cfg.depth, num_classes, cfg.mbstd_group)
