"""Style-based generator, small enough for CPUs (after Karras, Laine & Aila, CVPR 2019, and
Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020).

Generator
- a mapping network (``mapping_layers`` fully connected layers, learning rate x0.01)
  turns the normalised ``z`` (and, when conditional, a class embedding) into ``w``;
- a learned constant ``s0 x s0`` input is refined by modulated/demodulated 3x3
  convolutions, two per resolution (the first after a 2x bilinear up-sampling); each adds
  per-pixel noise scaled by a learned per-layer strength (fixed noise maps in eval mode,
  so samples are deterministic for a given latent);
- "skip" outputs: a modulated 1x1 ``toRGB`` at every resolution, summed up-sampled;
- style mixing: in training, with probability ``style_mixing``, the layers after a random
  cut-off take ``w`` from a second latent;
- truncation trick: ``G(z, y, truncation=psi)`` pulls ``w`` towards its running mean
  (``ganstyle sample RUN --truncation 0.7``).

Discriminator: StyleGAN2's residual D (fromRGB, residual down-blocks scaled by 1/√2,
minibatch standard deviation, conv, two dense layers; a projection term when
conditional). All layers use the equalised learning rate (weights drawn from N(0, 1) and
scaled at run time by He's constant). Defaults follow the CIFAR-10 setting of StyleGAN2-ADA
scaled down: non-saturating loss, lazy R1 (γ = 0.01, every 4 D steps), Adam(2e-3, β=(0, 0.99)).
Demodulation uses the "non-fused" form (scale the input, shared convolution, rescale the
output), which is the same maths and much faster than grouped convolutions on CPUs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganstyle.config import field
from ganstyle.errors import GanstyleError
from ganstyle.gan.layers import MinibatchStdDev, channels_last
from ganstyle.gan.models.dcgan import stages

DEFAULTS = {"latent_dim": 128, "g_width": 32, "d_width": 32, "loss": "ns", "g_lr": 2e-3, "d_lr": 2e-3,
            "beta1": 0.0, "beta2": 0.99, "n_critic": 1, "r1_gamma": 0.01, "reg_every": 4, "mbstd_group": 4,
            "batch_size": 64}


@dataclass
class Options:
    """Settings only this family has: the ``[stylegan_lite]`` table, ``--stylegan-lite.*`` flags."""

    mapping_layers: int = field(2, ge=1, help="mapping network depth")
    style_mixing: float = field(0.9, ge=0, le=1, help="style-mixing probability in training")


SQRT2 = math.sqrt(2.0)


def defaults_for_shape(data_shape) -> dict:
    """Widths that follow the image size: 16 up to 32 px, 32 (this family's default) from 64 px."""
    from ganstyle.gan.models.sngan import widths_for_shape

    return widths_for_shape(data_shape, DEFAULTS["g_width"])


def check(cfg, data_shape) -> None:
    if len(data_shape) != 3:
        raise GanstyleError(f"--model {cfg.model} needs image data, but --data {cfg.data} gives samples of shape "
                            f"{tuple(data_shape)}; use --model mlp for points")
    if data_shape[1] != data_shape[2]:
        raise GanstyleError(f"--model {cfg.model} needs square images, got {data_shape[1]}x{data_shape[2]}")
    stages(data_shape[1], cfg.model)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * SQRT2  # gain keeps the activation variance at 1


class EqualLinear(nn.Module):
    def __init__(self, cin: int, cout: int, lr_mul: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init)))
        self.scale, self.lr_mul = lr_mul / math.sqrt(cin), lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqualConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale, self.pad = 1 / math.sqrt(cin * k * k), k // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.pad)


class ModulatedConv2d(nn.Module):
    """Convolution whose input channels are scaled per sample by a style, then (optionally)
    demodulated so each output channel has unit expected variance."""

    def __init__(self, cin: int, cout: int, k: int, w_dim: int, demodulate: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)  # styles start at 1
        self.scale, self.pad, self.demodulate = 1 / math.sqrt(cin * k * k), k // 2, demodulate

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)  # (N, cin)
        weight = self.weight * self.scale
        out = F.conv2d(x * s[:, :, None, None], weight, padding=self.pad)
        if self.demodulate:
            d = torch.rsqrt(s.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8)  # (N, cout)
            out = out * d[:, :, None, None]
        return out


class StyleLayer(nn.Module):
    def __init__(self, cin: int, cout: int, w_dim: int, res: int, up: bool):
        super().__init__()
        self.up = up
        self.conv = ModulatedConv2d(cin, cout, 3, w_dim)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.register_buffer("noise_const", torch.randn(1, 1, res, res))
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.conv(x, w)
        if self.training:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        else:
            noise = self.noise_const.to(x.dtype)
        x = x + self.noise_strength * noise
        return lrelu(x + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    def __init__(self, cin: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(cin, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class StyleGenerator(nn.Module):
    truncation = "forward"

    def __init__(self, latent_dim: int, channels: int, size: int, width: int = 32, num_classes: int | None = None,
                 mapping_layers: int = 2, style_mixing: float = 0.9, w_avg_beta: float = 0.995):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.style_mixing, self.w_avg_beta = style_mixing, w_avg_beta
        w_dim = latent_dim
        s0, k = stages(size)
        chans = [min(width * 2 ** (k - i), width * 8) for i in range(k + 1)]
        self.embed = EqualLinear(num_classes, latent_dim) if num_classes else None
        dims = [latent_dim * (2 if num_classes else 1)] + [w_dim] * mapping_layers
        self.mapping = nn.ModuleList(EqualLinear(a, b, lr_mul=0.01) for a, b in zip(dims[:-1], dims[1:]))
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.const = nn.Parameter(torch.randn(1, chans[0], s0, s0))
        self.layers = nn.ModuleList([StyleLayer(chans[0], chans[0], w_dim, s0, up=False)])
        self.to_rgb = nn.ModuleList([ToRGB(chans[0], channels, w_dim)])
        for i in range(k):
            res = s0 * 2 ** (i + 1)
            self.layers.append(StyleLayer(chans[i], chans[i + 1], w_dim, res, up=True))
            self.layers.append(StyleLayer(chans[i + 1], chans[i + 1], w_dim, res, up=False))
            self.to_rgb.append(ToRGB(chans[i + 1], channels, w_dim))
        # one w per modulated layer: every conv and every toRGB
        self.num_ws = len(self.layers) + len(self.to_rgb)

    @staticmethod
    def _normalize(v: torch.Tensor) -> torch.Tensor:
        return v * torch.rsqrt(v.square().mean(dim=1, keepdim=True) + 1e-8)

    def map(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = self._normalize(z)
        if self.embed is not None:
            if y is None:
                raise ValueError("this generator is class-conditional: pass labels")
            onehot = F.one_hot(y, self.num_classes).to(z.dtype)
            x = torch.cat([x, self._normalize(self.embed(onehot))], dim=1)
        for layer in self.mapping:
            x = lrelu(layer(x))
        return x

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """``ws``: (N, num_ws, w_dim), one style per modulated layer."""
        x = channels_last(self.const.expand(ws.shape[0], -1, -1, -1))
        x = self.layers[0](x, ws[:, 0])
        rgb = self.to_rgb[0](x, ws[:, 1])
        j = 2
        for i in range(1, len(self.to_rgb)):
            x = self.layers[2 * i - 1](x, ws[:, j])
            x = self.layers[2 * i](x, ws[:, j + 1])
            rgb = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False) + self.to_rgb[i](x, ws[:, j + 2])
            j += 3
        return torch.tanh(rgb).contiguous()

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, truncation: float | None = None) -> torch.Tensor:
        w = self.map(z, y)
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().float().mean(0).to(self.w_avg.dtype), 1 - self.w_avg_beta)
        if truncation is not None:
            w = self.w_avg.to(w.dtype) + truncation * (w - self.w_avg.to(w.dtype))
        ws = w[:, None].expand(-1, self.num_ws, -1)
        if self.training and self.style_mixing > 0 and torch.rand(()) < self.style_mixing:
            cut = int(torch.randint(1, self.num_ws, ()))
            w2 = self.map(torch.randn_like(z), y)
            ws = torch.cat([ws[:, :cut], w2[:, None].expand(-1, self.num_ws - cut, -1)], dim=1)
        return self.synthesis(ws)


class StyleDiscriminator(nn.Module):
    def __init__(self, channels: int, size: int, width: int = 32, num_classes: int | None = None,
                 mbstd_group: int = 4):
        super().__init__()
        s0, k = stages(size)
        chans = [min(width * 2 ** (k - i), width * 8) for i in range(k + 1)]  # at s0 ... size
        self.from_rgb = EqualConv2d(channels, chans[k], 1)
        self.blocks = nn.ModuleList()
        for i in range(k, 0, -1):
            self.blocks.append(nn.ModuleDict({
                "conv1": EqualConv2d(chans[i], chans[i], 3),
                "conv2": EqualConv2d(chans[i], chans[i - 1], 3),
                "skip": EqualConv2d(chans[i], chans[i - 1], 1, bias=False),
            }))
        self.mbstd = MinibatchStdDev(mbstd_group) if mbstd_group else None
        ch = chans[0]
        self.conv = EqualConv2d(ch + (1 if mbstd_group else 0), ch, 3)
        self.fc = EqualLinear(ch * s0 * s0, ch)
        self.out = EqualLinear(ch, 1)
        self.embed = EqualLinear(num_classes, ch) if num_classes else None
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = lrelu(self.from_rgb(channels_last(x)))
        for b in self.blocks:
            skip = b["skip"](F.avg_pool2d(h, 2))
            h = lrelu(b["conv1"](h))
            h = F.avg_pool2d(lrelu(b["conv2"](h)), 2)
            h = (h + skip) / SQRT2
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = lrelu(self.fc(lrelu(self.conv(h)).flatten(1)))
        out = self.out(h).squeeze(1)
        if self.embed is not None:
            if y is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            e = self.embed(F.one_hot(y, self.num_classes).to(h.dtype))
            out = out + (e * h).sum(1) / math.sqrt(h.shape[1])
        return out


def make_generator(cfg, data_shape, num_classes):
    c, size, _ = data_shape
    opts = cfg.options
    return StyleGenerator(cfg.latent_dim, c, size, cfg.g_width, num_classes, opts.mapping_layers, opts.style_mixing)


def make_discriminator(cfg, data_shape, num_classes):
    c, size, _ = data_shape
    return StyleDiscriminator(c, size, cfg.d_width, num_classes, 4 if cfg.mbstd_group is None else cfg.mbstd_group)
