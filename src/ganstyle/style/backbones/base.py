"""The interface every style backbone implements: named layers, frozen, images in [0, 1] in.

A backbone exposes VGG's layer names (``relu1_1`` ... ``relu5_1``, the matching ``convX_Y``
and ``poolX``), takes images in [0, 1] of shape (B, 3, H, W), applies its own input
convention (channel order, scale, mean/std) and returns ``{name: tensor}`` for the requested
layers, running the stack only up to the deepest one. Every method (Gatys, fast, AdaIN,
the style metrics) is written against this interface.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import nn

from ganstyle.errors import GanstyleError

POOLINGS = ("max", "avg")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class FeatureBackbone(nn.Module):
    """A chain of named layers; ``forward(images, layers)`` returns the requested outputs.

    Parameters are frozen: backbones are fixed feature extractors, gradients flow to the
    input image (Gatys) or to another network (fast/AdaIN) only. ``bgr`` reverses the
    channel order before ``(x - mean) / std`` (Caffe-converted weights expect BGR).
    """

    def __init__(self, name: str, layers: Sequence[tuple[str, nn.Module]], *,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                 bgr: bool = False, pooling: str = "max", source: str = ""):
        super().__init__()
        self.name = name
        self.pooling = pooling
        self.source = source
        self.bgr = bool(bgr)
        self.layer_names = [n for n, _ in layers]
        self.stack = nn.ModuleDict(dict(layers))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def __repr__(self) -> str:
        return f"FeatureBackbone({self.name}, pooling={self.pooling}, layers={len(self.layer_names)})"

    @property
    def channels(self) -> dict[str, int]:
        """Output channels of every named layer."""
        out, c = {}, 3
        for n in self.layer_names:
            m = self.stack[n]
            c = getattr(m, "out_channels", c)
            out[n] = c
        return out

    @property
    def downsampling(self) -> dict[str, int]:
        """Spatial stride of every named layer relative to the input."""
        out, s = {}, 1
        for n in self.layer_names:
            if n.startswith("pool"):
                s *= 2
            out[n] = s
        return out

    def check_layers(self, layers: Iterable[str]) -> list[str]:
        layers = list(layers)
        unknown = [n for n in layers if n not in self.stack]
        if unknown:
            raise GanstyleError(
                f"backbone {self.name!r} has no layer(s) {', '.join(unknown)}; "
                f"available: {', '.join(n for n in self.layer_names if n.startswith('relu'))}"
            )
        return layers

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        if self.bgr:
            images = images.flip(1)
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)

    def forward(self, images: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        layers = self.check_layers(layers)
        wanted = set(layers)
        deepest = max(self.layer_names.index(n) for n in layers)
        x = self.normalize(images)
        out: dict[str, torch.Tensor] = {}
        for n in self.layer_names[: deepest + 1]:
            x = self.stack[n](x)
            if n in wanted:
                out[n] = x
        return {n: out[n] for n in layers}

    def activation_bytes(self, height: int, width: int, layers: Iterable[str] | None = None,
                         batch: int = 1, bytes_per_value: int = 4) -> int:
        """Bytes of all activations up to the deepest of ``layers`` (all if None) for one pass.

        With autograd every one of them is kept for the backward pass, so this is the
        dominant term of a Gatys step's peak memory.
        """
        names = self.layer_names
        if layers is not None:
            layers = self.check_layers(layers)
            names = names[: max(names.index(n) for n in layers) + 1]
        total, h, w, c = 0, height, width, 3
        for n in names:
            if n.startswith("pool"):
                h, w = max(1, h // 2), max(1, w // 2)
            m = self.stack[n]
            c = getattr(m, "out_channels", c)
            total += c * h * w * getattr(m, "activation_copies", 1)
        return total * batch * bytes_per_value


def make_pool(kind: str) -> nn.Module:
    if kind not in POOLINGS:
        raise GanstyleError(f"--pooling: {kind!r} is not one of {', '.join(POOLINGS)}")
    return nn.MaxPool2d(2, 2) if kind == "max" else nn.AvgPool2d(2, 2)


class Relu(nn.ReLU):
    """ReLU that reports its channel count (for shape and memory bookkeeping)."""

    def __init__(self, channels: int):
        super().__init__(inplace=False)
        self.out_channels = channels
