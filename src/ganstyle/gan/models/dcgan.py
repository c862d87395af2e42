"""DCGAN (Radford, Metz & Chintala, 2016) for square images of 8-128 pixels, 1 or 3 channels.

The generator projects ``z`` to a small ``s0 x s0`` map (4 for 16/32/64 px, 7 for 28 px)
and doubles the resolution with stride-2 transposed convolutions, halving the channels
each time (``g_width`` channels before the last layer); BatchNorm + ReLU inside, ``tanh``
out. The discriminator mirrors it with stride-2 convolutions and LeakyReLU(0.2), no
normalisation on the first layer, and a linear (or projection, when conditional) head.

``d_norm`` chooses the discriminator's normalisation; ``auto`` is BatchNorm, except with
a gradient penalty, where per-sample gradients forbid mixing samples in a batch and
layer norm is used instead (Gulrajani et al., 2017); ``sn`` puts spectral norm (Miyato
et al., 2018) on every convolution and the head, with no normalisation layers.
"""

from __future__ import annotations

import torch
from torch import nn

from ganstyle.errors import GanstyleError
from ganstyle.gan.layers import ProjectionHead, init_dcgan_weights, sn

DEFAULTS = {"latent_dim": 100, "g_width": 64, "d_width": 64}
# Small grey images (1 channel, SMALL_GREY_SIZES px; e.g. MNIST-like folders): the recipe with the
# lowest FID on real digits within 3 CPU-minutes, measured with benchmarks/digits_recipes.py
# (README "Small-budget recipes on real digits"). Measured at 32 px.
# Narrow nets and a high learning rate win at this budget: G and D 16 wide (G 64-32-16 channels),
# Adam 1e-3 (0.5, 0.999), batch 32, non-saturating loss, batch norm in D, EMA 0.995.
SMALL_GREY_DEFAULTS = {"latent_dim": 100, "g_width": 16, "d_width": 16, "g_lr": 1e-3, "d_lr": 1e-3,
                       "batch_size": 32, "ema_decay": 0.995}
SMALL_GREY_SIZES = range(16, 33)


def defaults_for(cfg) -> dict:
    """:data:`SMALL_GREY_DEFAULTS` when the run trains on small grey images (``--channels`` and
    ``--image-size`` as given, else the data's own: see :mod:`ganstyle.gan.image_shape`),
    :data:`DEFAULTS` otherwise."""
    if cfg.channels == 1 and cfg.image_size in SMALL_GREY_SIZES:
        return dict(SMALL_GREY_DEFAULTS)
    return dict(DEFAULTS)


def stages(size: int, model: str = "dcgan") -> tuple[int, int]:
    """(s0, number of x2 stages) with ``s0 * 2**k == size`` and ``s0 <= 7``; ``model`` names the family in the error."""
    s, k = size, 0
    while s > 7 and s % 2 == 0:
        s, k = s // 2, k + 1
    if s > 7 or k == 0:
        raise GanstyleError(f"--image-size {size}: {model} needs a size of 8 or more that halves down to 7 or less "
                            "(e.g. 16, 28, 32, 48, 64, 128)")
    return s, k


def check(cfg, data_shape) -> None:
    if len(data_shape) != 3:
        raise GanstyleError(f"--model dcgan needs image data, but --data {cfg.data} gives samples of shape {tuple(data_shape)}; "
                            "use --model mlp for points")
    c, h, w = data_shape
    if h != w:
        raise GanstyleError(f"--model dcgan needs square images, got {h}x{w}")
    stages(h)


def _norm2d(kind: str, ch: int) -> nn.Module:
    if kind == "bn":
        return nn.BatchNorm2d(ch)
    if kind == "ln":
        return nn.GroupNorm(1, ch)
    return nn.Identity()


class DCGANGenerator(nn.Module):
    truncation = "latent"

    def __init__(self, latent_dim: int, channels: int, size: int, width: int = 64, num_classes: int | None = None):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        s0, k = stages(size)
        ch = width * 2 ** (k - 1)
        self.s0, self.ch0 = s0, ch
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        in_dim = latent_dim * (2 if num_classes else 1)
        self.project = nn.Linear(in_dim, ch * s0 * s0, bias=False)
        self.bn0 = nn.BatchNorm2d(ch)
        blocks: list[nn.Module] = [nn.ReLU(inplace=True)]
        for _ in range(k - 1):
            blocks += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(inplace=True)]
            ch //= 2
        blocks += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], dim=1)
        h = self.project(z).view(z.shape[0], self.ch0, self.s0, self.s0)
        return self.blocks(self.bn0(h))


class DCGANDiscriminator(nn.Module):
    def __init__(self, channels: int, size: int, width: int = 64, norm: str = "bn", num_classes: int | None = None):
        super().__init__()
        s0, k = stages(size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        ch = width
        for _ in range(k - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm in ("none", "sn")), _norm2d(norm, ch * 2),
                       nn.LeakyReLU(0.2, inplace=True)]
            ch *= 2
        self.body = nn.Sequential(*layers)
        self.head = ProjectionHead(ch * s0 * s0, num_classes)
        init_dcgan_weights(self)
        if norm == "sn":  # after the init: the parametrisation divides whatever weights it wraps
            for m in list(self.modules()):
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    sn(m)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.body(x).flatten(1), y)


def make_generator(cfg, data_shape, num_classes):
    c, size, _ = data_shape
    return DCGANGenerator(cfg.latent_dim, c, size, cfg.g_width, num_classes)


def make_discriminator(cfg, data_shape, num_classes):
    c, size, _ = data_shape
    norm = cfg.d_norm
    if norm == "auto":
        norm = "ln" if (cfg.gp_weight or 0) > 0 or cfg.loss == "wgan-gp" else "bn"
    return DCGANDiscriminator(c, size, cfg.d_width, norm, num_classes)
