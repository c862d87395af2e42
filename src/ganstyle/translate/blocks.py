"""Layers both translation models use: conv blocks, residual blocks, AdaIN, PatchGAN, image pool.

Generators pad by reflection (no dark frame at borders) and normalise per instance, as in
CycleGAN and MUNIT; they end in ``tanh`` so images stay in [-1, 1].
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``in``: instance norm (no running statistics, so train and eval agree); ``ln``: layer
    norm over (C, H, W) with a per-channel affine part; ``adain``: filled by :class:`AdaIN`."""
    if kind == "in":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "ln":
        return nn.GroupNorm(1, channels)
    if kind == "adain":
        return AdaIN(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


def conv_block(c_in: int, c_out: int, kernel: int, stride: int = 1, norm: str = "in",
               act: str = "relu") -> nn.Sequential:
    """Reflection pad, conv, norm, activation."""
    acts = {"relu": nn.ReLU(inplace=True), "lrelu": nn.LeakyReLU(0.2, inplace=True), "tanh": nn.Tanh(), "none": nn.Identity()}
    return nn.Sequential(nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel, stride, bias=norm != "in"),
                         norm_layer(norm, c_out), acts[act])


def up_block(c_in: int, c_out: int, norm: str) -> nn.Sequential:
    """Nearest 2x upsampling then a 5x5 conv (no checkerboard artefacts of transposed convs)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv_block(c_in, c_out, 5, norm=norm))


def encoder_layers(channels: int, width: int, n_down: int, n_res_blocks: int) -> tuple[list[nn.Module], int]:
    """c7s1-``width``, ``n_down`` stride-2 convs doubling the width, residual blocks (instance
    norm throughout): CycleGAN's generator front and MUNIT's content encoder. Returns (layers, channels)."""
    layers: list[nn.Module] = [conv_block(channels, width, 7)]
    c = width
    for _ in range(n_down):
        layers.append(conv_block(c, 2 * c, 3, stride=2))
        c *= 2
    layers += [ResBlock(c) for _ in range(n_res_blocks)]
    return layers, c


def decoder_tail(c: int, channels: int, n_up: int, norm: str) -> list[nn.Module]:
    """``n_up`` upsampling convs halving the width, then c7s1-``channels`` + tanh."""
    layers: list[nn.Module] = []
    for _ in range(n_up):
        layers.append(up_block(c, c // 2, norm=norm))
        c //= 2
    return layers + [conv_block(c, channels, 7, norm="none", act="tanh")]


class ResBlock(nn.Module):
    def __init__(self, channels: int, norm: str = "in"):
        super().__init__()
        self.body = nn.Sequential(conv_block(channels, channels, 3, norm=norm),
                                  conv_block(channels, channels, 3, norm=norm, act="none"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class AdaIN(nn.Module):
    """Instance norm whose per-sample scale and shift are set from outside (by MUNIT's MLP)
    through :meth:`set_params` before each forward pass."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.norm = nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
        self.scale: torch.Tensor | None = None
        self.shift: torch.Tensor | None = None

    def set_params(self, scale: torch.Tensor, shift: torch.Tensor) -> None:
        self.scale, self.shift = scale, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale is None:
            raise RuntimeError("AdaIN parameters were not set before the forward pass")
        return self.norm(x) * (1 + self.scale[:, :, None, None]) + self.shift[:, :, None, None]


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al., 2017): a grid of logits, each judging one overlapping patch.

    ``layers`` stride-2 4x4 convolutions (width doubling, capped at 8x) then a stride-1 conv
    and a 1-channel conv. Each logit sees a 16-pixel patch with 1 layer, 34 with 2, 70 with 3
    (the paper's 70x70 PatchGAN).
    """

    def __init__(self, channels: int = 3, width: int = 32, layers: int = 2):
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        c = width
        for i in range(1, layers):
            c_next = width * min(2 ** i, 8)
            mods += [nn.Conv2d(c, c_next, 4, 2, 1, bias=False), norm_layer("in", c_next), nn.LeakyReLU(0.2, inplace=True)]
            c = c_next
        c_next = width * min(2 ** layers, 8)
        mods += [nn.Conv2d(c, c_next, 4, 1, 1, bias=False), norm_layer("in", c_next), nn.LeakyReLU(0.2, inplace=True),
                 nn.Conv2d(c_next, 1, 4, 1, 1)]
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ImagePool:
    """History of generated images (Shrivastava et al., 2017) that D is trained on.

    Until ``size`` images are stored, each new image is stored and returned. Afterwards each
    new image is, with probability 1/2, swapped with a random stored one (the stored one is
    returned, the new one kept), else returned as is. ``size`` 0 returns the batch unchanged.
    Draws come from ``generator`` and the stored images travel in checkpoints, so a resumed
    run sees the same pool.
    """

    def __init__(self, size: int, generator: torch.Generator):
        self.size, self.generator = size, generator
        self.images: list[torch.Tensor] = []

    @torch.no_grad()
    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for img in batch.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif float(torch.rand((), generator=self.generator)) < 0.5:
                i = int(torch.randint(len(self.images), (), generator=self.generator))
                out.append(self.images[i])
                self.images[i] = img.clone()
            else:
                out.append(img)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        stacked = torch.stack(self.images).cpu() if self.images else torch.zeros(0)
        return {"images": stacked, "count": len(self.images)}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        n = int(state["count"])
        self.images = [state["images"][i].to(device) for i in range(n)]
