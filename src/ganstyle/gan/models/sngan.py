"""SNGAN: ResNet generator and spectrally normalised ResNet discriminator
(Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for GANs", ICLR 2018).

The generator maps ``z`` to an ``s0 x s0`` map (4 for 16/32/64 px, 7 for 28 px) and
doubles the resolution with residual up-blocks (BN-ReLU-up-conv-BN-ReLU-conv + a 1x1
up-sampled shortcut), halving the channels each time down to ``g_width`` at full size;
BN-ReLU-conv-tanh out. The discriminator starts with the "optimised" first block
(conv-ReLU-conv-pool with a pooled 1x1 shortcut), halves the resolution with residual
down-blocks (doubling channels from ``d_width``, capped at 8x), adds one block at
``s0 x s0``, then ReLU, global sum pooling and a linear head — a projection head when
class-conditional (Miyato & Koyama, 2018). Every D layer is spectrally normalised.

The same builders serve SAGAN (a self-attention block at ``attn_res``, spectral norm in G
too) and the class-conditional family (conditional BN in G); those modules only change
the defaults. Hinge loss by default. The optimiser defaults are the paper's setting "C"
(Adam α=2e-4, β=(0.5, 0.999), one D step per G step), under which spectral norm was
the most robust method it compared; its best CIFAR-10 numbers use 5 D steps and
β=(0, 0.9) (``--n-critic 5 --beta1 0 --beta2 0.9``), which costs 3x more per G step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganstyle.config import field
from ganstyle.errors import GanstyleError
from ganstyle.gan.layers import ConditionalBatchNorm2d, MinibatchStdDev, SelfAttention, channels_last, sn
from ganstyle.gan.models.dcgan import stages

DEFAULTS = {"latent_dim": 128, "g_width": 64, "d_width": 64, "loss": "hinge", "beta1": 0.5, "beta2": 0.999,
            "n_critic": 1, "g_lr": 2e-4, "d_lr": 2e-4, "mbstd_group": 0, "batch_size": 64}


@dataclass
class Options:
    """Settings only the ResNet families have: the ``[sngan]`` table of config.toml, ``--sngan.*`` flags."""

    attn_res: int = field(0, ge=0, help="self-attention at this feature-map size (0 = none)")
    g_sn: bool = field(False, help="spectral norm in the generator too")


def width_for_size(size: int, cap: int) -> int:
    """Default channel width for ``size`` px images: half the image side, at least 16 and at most the
    family's own default ``cap``. Small images get networks a CPU trains in minutes (16 at 8-32 px, with
    128 channels at the 4x4 input); 64 px images and larger keep the papers' widths."""
    return min(cap, max(16, size // 2))


def widths_for_shape(data_shape, cap: int) -> dict:
    """G and D widths for images of ``data_shape`` (see :func:`width_for_size`); none for other data."""
    if len(data_shape) != 3:
        return {}
    width = width_for_size(data_shape[-1], cap)
    return {"g_width": width, "d_width": width}


def defaults_for_shape(data_shape) -> dict:
    """Widths that follow the image size (see :func:`width_for_size`)."""
    return widths_for_shape(data_shape, DEFAULTS["g_width"])


def check(cfg, data_shape) -> None:
    if len(data_shape) != 3:
        raise GanstyleError(f"--model {cfg.model} needs image data, but --data {cfg.data} gives samples of shape "
                            f"{tuple(data_shape)}; use --model mlp for points")
    c, h, w = data_shape
    if h != w:
        raise GanstyleError(f"--model {cfg.model} needs square images, got {h}x{w}")
    stages(h, cfg.model)
    res = feature_sizes(h)
    attn_res = cfg.options.attn_res
    if attn_res and attn_res not in res:
        raise GanstyleError(f"--{cfg.model}.attn-res {attn_res}: must be one of the feature-map sizes {res} for {h}px images "
                            "(0 = no attention)")


def feature_sizes(size: int) -> list[int]:
    """Side lengths of the generator's block outputs (and the discriminator's inputs) for ``size`` px."""
    s0, k = stages(size)
    return [s0 * 2 ** i for i in range(1, k + 1)]


def attention_resolution(cfg, size: int) -> int:
    """``--MODEL.attn-res``, or when it is unset the largest feature map below the image size (16 for
    32 px, the papers' choice; 8 for 16 px; for 8 px digits G's only map, 8, where D, whose maps
    are 4x4, has none)."""
    if cfg.options.attn_res is not None:
        return cfg.options.attn_res
    sizes = feature_sizes(size)
    return max([r for r in sizes if r < size] or sizes)


def _init(m: nn.Module, gain: float = 1.0) -> nn.Module:
    nn.init.xavier_uniform_(m.weight, gain)
    if getattr(m, "bias", None) is not None:
        nn.init.zeros_(m.bias)
    return m


def conv(cin: int, cout: int, k: int, use_sn: bool, gain: float = 2 ** 0.5) -> nn.Module:
    return sn(_init(nn.Conv2d(cin, cout, k, padding=k // 2), gain), use_sn)


class _Norm(nn.Module):
    """BatchNorm, or conditional BatchNorm when the generator has a conditioning input."""

    def __init__(self, ch: int, num_classes: int | None, cond_dim: int | None, use_sn: bool):
        super().__init__()
        self.conditional = bool(num_classes or cond_dim)
        self.norm = (ConditionalBatchNorm2d(ch, num_classes, cond_dim, use_sn) if self.conditional
                     else nn.BatchNorm2d(ch))

    def forward(self, x, c):
        return self.norm(x, c) if self.conditional else self.norm(x)


class GBlock(nn.Module):
    def __init__(self, cin, cout, num_classes=None, cond_dim=None, use_sn=False):
        super().__init__()
        self.bn1 = _Norm(cin, num_classes, cond_dim, use_sn)
        self.conv1 = conv(cin, cout, 3, use_sn)
        self.bn2 = _Norm(cout, num_classes, cond_dim, use_sn)
        self.conv2 = conv(cout, cout, 3, use_sn)
        self.shortcut = conv(cin, cout, 1, use_sn, gain=1.0)

    def forward(self, x, c):
        h = F.interpolate(F.relu(self.bn1(x, c)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), c)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    def __init__(self, cin, cout, down=True, first=False, use_sn=True):
        super().__init__()
        self.first, self.down = first, down
        self.conv1 = conv(cin, cout, 3, use_sn)
        self.conv2 = conv(cout, cout, 3, use_sn)
        self.shortcut = conv(cin, cout, 1, use_sn, gain=1.0) if (cin != cout or down) else None

    def forward(self, x):
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.first:  # pool before the 1x1 conv: same result, a quarter of the work
            s = self.shortcut(F.avg_pool2d(s, 2))
        elif self.shortcut is not None:
            s = self.shortcut(s)
            if self.down:
                s = F.avg_pool2d(s, 2)
        return h + s


class ResNetGenerator(nn.Module):
    """``G(z, y)``. Class-conditional batch norm takes its per-class gain and bias from tables
    (``shared_dim == 0``), or linearly from one class embedding of ``shared_dim`` shared by all
    blocks; with ``hierarchical`` (BigGAN's hierarchical latents) ``z`` is also split into one
    chunk per block plus one for the input layer, and each block's conditional BN sees
    ``[embed(y), z_chunk]``. ``embed_input`` also concatenates a class embedding to ``z``: ``cond``'s
    earlier design, kept for ``benchmarks/cond_variants.py`` (it drew one image per class)."""

    truncation = "latent"

    def __init__(self, latent_dim: int, channels: int, size: int, width: int = 64, num_classes: int | None = None,
                 use_sn: bool = False, attn_res: int = 0, shared_dim: int = 0, hierarchical: bool = False,
                 embed_input: bool = False):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        s0, k = stages(size)
        chans = [min(width * 2 ** (k - i), width * 8) for i in range(k + 1)]  # at s0, 2*s0, ..., size
        self.s0, self.ch0 = s0, chans[0]
        self.hierarchical = hierarchical
        self.shared = nn.Embedding(num_classes, shared_dim) if (shared_dim and num_classes) else None
        cond_dim, n_cls, in_dim = None, num_classes, latent_dim
        if self.shared is not None:
            cond_dim, n_cls = shared_dim, None
        if hierarchical:
            self.chunk = latent_dim // (k + 1)
            if self.chunk < 1:
                raise GanstyleError(f"--latent-dim {latent_dim}: hierarchical latents need at least {k + 1} dimensions")
            cond_dim, n_cls, in_dim = (cond_dim or 0) + self.chunk, None, latent_dim - k * self.chunk
        self.input_embed = None
        if embed_input and num_classes:
            self.input_embed = nn.Embedding(num_classes, latent_dim)
            in_dim += latent_dim
        self.project = sn(_init(nn.Linear(in_dim, s0 * s0 * chans[0])), use_sn)
        self.blocks = nn.ModuleList()
        self.attn = nn.ModuleDict()
        for i in range(k):
            self.blocks.append(GBlock(chans[i], chans[i + 1], n_cls, cond_dim, use_sn))
            if attn_res and s0 * 2 ** (i + 1) == attn_res:
                self.attn[str(i)] = SelfAttention(chans[i + 1], use_sn)
        self.bn_out = nn.BatchNorm2d(chans[-1])
        self.conv_out = conv(chans[-1], channels, 3, use_sn, gain=1.0)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes and y is None:
            raise ValueError("this generator is class-conditional: pass labels")
        e = self.shared(y) if self.shared is not None else y  # what a block's conditional BN reads
        if self.hierarchical:
            k = len(self.blocks)
            z0, chunks = z[:, :z.shape[1] - k * self.chunk], z[:, z.shape[1] - k * self.chunk:].split(self.chunk, 1)
            conds = [c if e is None else torch.cat([e, c], 1) for c in chunks]
        else:
            z0, conds = z, [e] * len(self.blocks)
        if self.input_embed is not None:
            z0 = torch.cat([z0, self.input_embed(y)], dim=1)
        h = channels_last(self.project(z0).view(z.shape[0], self.ch0, self.s0, self.s0))
        for i, block in enumerate(self.blocks):
            h = block(h, conds[i])
            if str(i) in self.attn:
                h = self.attn[str(i)](h)
        return torch.tanh(self.conv_out(F.relu(self.bn_out(h)))).contiguous()


class ResNetDiscriminator(nn.Module):
    def __init__(self, channels: int, size: int, width: int = 64, num_classes: int | None = None,
                 use_sn: bool = True, attn_res: int = 0, mbstd_group: int = 0, sn_embed: bool = True):
        super().__init__()
        s0, k = stages(size)
        blocks: list[nn.Module] = []
        ch, res = width, size // 2
        blocks.append(DBlock(channels, ch, down=True, first=True, use_sn=use_sn))
        if attn_res == res:
            blocks.append(SelfAttention(ch, use_sn))
        for _ in range(k - 1):
            nxt = min(ch * 2, width * 8)
            blocks.append(DBlock(ch, nxt, down=True, use_sn=use_sn))
            ch, res = nxt, res // 2
            if attn_res == res:
                blocks.append(SelfAttention(ch, use_sn))
        self.body = nn.Sequential(*blocks)
        self.mbstd = MinibatchStdDev(mbstd_group) if mbstd_group else None
        self.last = DBlock(ch + (1 if mbstd_group else 0), ch, down=False, use_sn=use_sn)
        self.linear = sn(_init(nn.Linear(ch, 1), 1.0), use_sn)
        self.embed = None
        if num_classes:
            self.embed = nn.Embedding(num_classes, ch)
            _init(self.embed, 1.0)
            self.embed = sn(self.embed, use_sn and sn_embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(channels_last(x))
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = F.relu(self.last(h)).sum(dim=(2, 3))
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            if y is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            out = out + (self.embed(y) * h).sum(1)  # projection (Miyato & Koyama, 2018)
        return out


def make_generator(cfg, data_shape, num_classes, shared_dim: int = 0, hierarchical: bool = False,
                   embed_input: bool = False):
    c, size, _ = data_shape
    return ResNetGenerator(cfg.latent_dim, c, size, cfg.g_width, num_classes, cfg.options.g_sn,
                           attention_resolution(cfg, size), shared_dim, hierarchical, embed_input)


def make_discriminator(cfg, data_shape, num_classes, sn_embed: bool = True):
    c, size, _ = data_shape
    return ResNetDiscriminator(c, size, cfg.d_width, num_classes, True, attention_resolution(cfg, size), cfg.mbstd_group or 0,
                               sn_embed)
