"""Building blocks shared by the model zoo.

- :func:`sn`: spectral normalisation (Miyato et al., 2018) through
  ``torch.nn.utils.parametrizations.spectral_norm``. Its power-iteration vectors ``u``/``v``
  are registered buffers, so they land in ``state_dict`` (checkpoints, exact resume) and
  the generator EMA copies them like BatchNorm statistics. One power iteration runs per
  forward pass in training mode; in eval mode the stored vectors are used as they are.
- :class:`SelfAttention`: the SAGAN block (Zhang et al., 2019), output ``x + γ·attn(x)``
  with ``γ`` starting at 0 so a network begins as its convolutional counterpart.
- :class:`ConditionalBatchNorm2d`: batch norm whose gain and bias come from the class
  (de Vries et al., 2017; Miyato & Koyama, 2018), or from any conditioning vector (BigGAN).
- :class:`MinibatchStdDev`: appends the average per-feature standard deviation over a
  group of samples as one extra channel (Karras et al., 2018), so D can see a lack of
  variety in a batch.
- :func:`init_dcgan_weights`, :func:`minibatch_stddev`, :class:`ProjectionHead`: DCGAN init,
  the batch-variety feature, and the projection discriminator head.
- :class:`PackedDiscriminator`: PacGAN (Lin et al., 2018): D judges ``m`` samples at once,
  concatenated along channels, which penalises a generator that covers few modes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """NHWC activations: oneDNN convolutions run about 1.3x faster on CPUs in this layout."""
    return x.contiguous(memory_format=torch.channels_last)


def sn(module: nn.Module, enabled: bool = True, eps: float = 1e-6) -> nn.Module:
    """``module`` with its weight divided by its largest singular value (when ``enabled``).

    Convolution kernels are reshaped to ``(out, in*kh*kw)`` matrices, as in the paper.
    """
    return spectral_norm(module, eps=eps) if enabled else module


def largest_singular_value(weight: torch.Tensor) -> float:
    """Exact σ_max of a (reshaped) weight, for checking spectral normalisation."""
    mat = weight.detach().float().reshape(weight.shape[0], -1)
    return float(torch.linalg.matrix_norm(mat, ord=2))


class SelfAttention(nn.Module):
    """Non-local self-attention over all positions of a feature map.

    Queries and keys have ``channels // 8`` channels and values ``channels // 2``, and keys
    and values are max-pooled 2x (BigGAN's cheaper variant); spectral norm on every 1x1
    convolution when ``use_sn``.
    """

    def __init__(self, channels: int, use_sn: bool = True):
        super().__init__()
        self.query = sn(nn.Conv2d(channels, max(channels // 8, 1), 1, bias=False), use_sn)
        self.key = sn(nn.Conv2d(channels, max(channels // 8, 1), 1, bias=False), use_sn)
        self.value = sn(nn.Conv2d(channels, max(channels // 2, 1), 1, bias=False), use_sn)
        self.out = sn(nn.Conv2d(max(channels // 2, 1), channels, 1, bias=False), use_sn)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2)  # (n, c/8, hw)
        pool = h >= 2 and w >= 2 and h % 2 == 0 and w % 2 == 0
        k = self.key(x)
        v = self.value(x)
        if pool:
            k, v = F.max_pool2d(k, 2), F.max_pool2d(v, 2)
        k, v = k.flatten(2), v.flatten(2)
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (n, hw, hw')
        o = (v @ attn.transpose(1, 2)).view(n, -1, h, w)
        return x + self.gamma * self.out(o)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without its own affine part; gain ``1 + Δγ`` and bias ``β`` per sample.

    With ``num_classes`` the gain and bias are looked up per class; with ``cond_dim`` they
    are linear in a conditioning vector (a shared class embedding plus a latent chunk).
    """

    def __init__(self, channels: int, num_classes: int | None = None, cond_dim: int | None = None,
                 use_sn: bool = False):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        if cond_dim:
            self.gain = sn(nn.Linear(cond_dim, channels, bias=False), use_sn)
            self.bias = sn(nn.Linear(cond_dim, channels, bias=False), use_sn)
            self.by_class = False
        else:
            self.gain = nn.Embedding(num_classes, channels)
            self.bias = nn.Embedding(num_classes, channels)
            nn.init.zeros_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)
            self.by_class = True

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gain, bias = self.gain(c), self.bias(c)
        return self.bn(x) * (1 + gain)[:, :, None, None] + bias[:, :, None, None]


class MinibatchStdDev(nn.Module):
    """Module form of :func:`minibatch_stddev` (one extra channel)."""

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return minibatch_stddev(x, self.group_size)


class PackedDiscriminator(nn.Module):
    """Wraps a D built for ``pack`` times the channels: ``(N, C, …) -> (N/pack,)`` logits.

    Consecutive samples form one pack; real and fake batches are packed separately, so a
    pack is all real or all fake, as in the paper.
    """

    def __init__(self, inner: nn.Module, pack: int):
        super().__init__()
        self.inner, self.pack = inner, pack

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        n = x.shape[0]
        if n % self.pack:
            raise ValueError(f"batch of {n} is not divisible by pack {self.pack}")
        packed = x.reshape(n // self.pack, self.pack * x.shape[1], *x.shape[2:])
        return self.inner(packed, y[::self.pack] if y is not None else None)


def init_dcgan_weights(module: nn.Module, std: float = 0.02) -> None:
    """N(0, 0.02) conv/linear weights, N(1, 0.02) norm gains (Radford et al., 2016)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm, nn.LayerNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def minibatch_stddev(h: torch.Tensor, group: int) -> torch.Tensor:
    """Append the average feature std within groups of ``group`` samples (Karras et al.,
    2018): the discriminator sees how varied a batch is, which counters mode collapse."""
    n = h.shape[0]
    g = math.gcd(group, n)
    y = h.float().reshape(g, -1, *h.shape[1:])
    std = (y.var(0, unbiased=False) + 1e-8).sqrt().flatten(1).mean(1)  # one value per group
    std = std.repeat(g).to(h.dtype).view(n, *([1] * (h.dim() - 1)))
    return torch.cat([h, std.expand(n, 1, *h.shape[2:])], dim=1)


class ProjectionHead(nn.Module):
    """Discriminator output ``w·h + b (+ <embed(y), h>)``: the projection discriminator of
    Miyato & Koyama (2018), which reduces to a linear head without labels."""

    def __init__(self, features: int, num_classes: int | None):
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.embed = nn.Embedding(num_classes, features) if num_classes else None

    def forward(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            if y is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            out = out + (self.embed(y) * h).sum(1)
        return out
