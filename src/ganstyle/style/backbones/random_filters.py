"""``random``: a seeded random-filter pyramid with VGG's layer names; needs no download.

Random filters of several sizes (1x1 colour projections, 3x3, 5x5, dilated), each layer
rescaled on a fixed synthetic image so that every layer's activations have unit scale.
Gram matrices of random ReLU features are a known, decent texture descriptor
(Ustyuzhaninov et al. 2016; He et al. 2016); the calibration keeps the per-layer losses
balanced so the default Gatys weights work for this backbone and the VGGs alike.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ganstyle.style.backbones.base import FeatureBackbone, Relu, make_pool



class MultiSizeConv(nn.Module):
    """Several convolutions of different kernel sizes / dilations side by side, concatenated.

    Each group is ``(out_channels, kernel, dilation, zero_mean)``. Zero-mean filters respond
    to structure and ignore flat colour; the 1x1 non-zero-mean group carries colour.
    """

    def __init__(self, in_channels: int, groups: Sequence[tuple[int, int, int, bool]], generator: torch.Generator):
        super().__init__()
        self.groups = list(groups)
        self.convs = nn.ModuleList()
        for cout, k, dil, zero_mean in self.groups:
            conv = nn.Conv2d(in_channels, cout, k, padding=dil * (k // 2), dilation=dil, padding_mode="replicate")
            w = torch.randn(cout, in_channels, k, k, generator=generator)
            if zero_mean and k > 1:
                w -= w.mean(dim=(2, 3), keepdim=True)
            # Unit gain for the fan-in; the calibration pass fixes the exact scale afterwards.
            w /= w.flatten(1).norm(dim=1).clamp_min(1e-8).view(-1, 1, 1, 1)
            with torch.no_grad():
                conv.weight.copy_(w)
                conv.bias.zero_()
            self.convs.append(conv)
        self.out_channels = sum(g[0] for g in self.groups)
        self.activation_copies = 2  # the groups' outputs, then their concatenation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([conv(x) for conv in self.convs], dim=1)

    @torch.no_grad()
    def calibrate(self, x: torch.Tensor) -> None:
        """Centre and scale every output channel to zero mean, unit std on the sample ``x``."""
        for conv in self.convs:
            y = conv(x)
            mean = y.mean(dim=(0, 2, 3))
            std = y.std(dim=(0, 2, 3)).clamp_min(1e-6)
            conv.weight.div_(std.view(-1, 1, 1, 1))
            conv.bias.copy_((conv.bias - mean) / std)


# (layer name, [(channels, kernel, dilation, zero_mean), ...]) in order; a "pool" before each new block.
RANDOM_LAYOUT: tuple[tuple[str, tuple[tuple[int, int, int, bool], ...]], ...] = (
    ("conv1_1", ((16, 1, 1, False), (24, 3, 1, True), (16, 5, 1, True), (8, 5, 2, True))),
    ("conv2_1", ((96, 3, 1, True), (32, 3, 2, True))),
    ("conv3_1", ((192, 3, 1, True), (64, 3, 2, True))),
    ("conv4_1", ((384, 3, 1, True), (128, 3, 2, True))),
    ("conv4_2", ((384, 3, 1, True), (128, 3, 2, True))),
    ("conv5_1", ((384, 3, 1, True), (128, 3, 2, True))),
)


def calibration_image(size: int = 256, seed: int = 0) -> torch.Tensor:
    """A colour image with a natural-image (1/f) spectrum: what the random filters are scaled on."""
    g = torch.Generator().manual_seed(seed + 7919)
    fy = torch.fft.fftfreq(size).view(-1, 1)
    fx = torch.fft.rfftfreq(size).view(1, -1)
    radius = (fx**2 + fy**2).sqrt().clamp_min(1.0 / size)
    phase = torch.rand(3, size, size // 2 + 1, generator=g) * 2 * math.pi
    spectrum = torch.polar(1.0 / radius.expand(3, -1, -1), phase)
    img = torch.fft.irfft2(spectrum, s=(size, size))
    # Correlated colour channels, as in photos: a shared luminance plus weaker chroma.
    mix = torch.tensor([[1.0, 0.3, 0.1], [1.0, -0.2, 0.2], [1.0, 0.0, -0.4]])
    img = torch.einsum("ij,jhw->ihw", mix, img)
    img = (img - img.mean()) / img.std()
    return (0.45 + 0.22 * img).clamp(0, 1).unsqueeze(0)


_RANDOM_CACHE: dict[tuple, dict[str, torch.Tensor]] = {}


def random_architecture(seed: int = 0, *, pooling: str = "max", width: float = 1.0,
                        last: str | None = None) -> FeatureBackbone:
    """The random pyramid's layers with seeded but not yet calibrated filters, up to ``last``
    (a layer name; None: all). Loading saved weights into it skips the calibration."""
    g = torch.Generator().manual_seed(int(seed))
    layers: list[tuple[str, nn.Module]] = []
    cin, block_prev = 3, 1
    for name, groups in RANDOM_LAYOUT:
        block = int(name[4])
        if block != block_prev:
            layers.append((f"pool{block_prev}", make_pool(pooling)))
            block_prev = block
        groups = tuple((max(4, int(round(c * width))), k, d, z) for c, k, d, z in groups)
        conv = MultiSizeConv(cin, groups, g)
        layers.append((name, conv))
        layers.append(("relu" + name[4:], Relu(conv.out_channels)))
        cin = conv.out_channels
        if last in (name, "relu" + name[4:]):
            break
    return FeatureBackbone("random", layers, pooling=pooling, source=f"random filters, seed {seed}")


def random_backbone(seed: int = 0, *, pooling: str = "max", width: float = 1.0,
                    device: torch.device | str = "cpu") -> FeatureBackbone:
    """A deterministic random-filter pyramid with VGG's layer names (no download).

    ``width`` scales every layer's channel count (e.g. 0.5 for speed, 2 for quality).
    """
    key = (int(seed), pooling, float(width))
    net = random_architecture(seed, pooling=pooling, width=width)
    if key in _RANDOM_CACHE:  # the calibration pass is the slow part of building one
        net.load_state_dict(_RANDOM_CACHE[key])
        return net.to(device)
    # Calibrate layer by layer on a fixed image so each layer's pre-activation is ~N(0, 1):
    # Gram magnitudes then match across layers and the style weights stay meaningful.
    with torch.no_grad():
        x = net.normalize(calibration_image(256, seed))
        for n in net.layer_names:
            m = net.stack[n]
            if isinstance(m, MultiSizeConv):
                m.calibrate(x)
            x = m(x)
    _RANDOM_CACHE[key] = {k: v.clone() for k, v in net.state_dict().items()}
    return net.to(device)
