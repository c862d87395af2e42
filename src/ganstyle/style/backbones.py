"""Feature backbones for style transfer: VGG-19 (real weights) and a seeded random network.

Both backbones expose the same named layers (``relu1_1`` ... ``relu5_1``, ``relu4_2``, the
matching ``convX_Y`` and ``poolX``), take images in [0, 1] of shape (B, 3, H, W) and return
``{name: tensor}`` for the requested layers, running the stack only up to the deepest one.
Every method (Gatys, fast, AdaIN, the style metrics) is written against that interface, so
the random backbone is a drop-in replacement on machines without the VGG download.

``vgg19`` reads only the 16 convolutions below relu5_1 from torchvision's official
checkpoint; the 500 MB of classifier weights are never kept in memory.

``random`` needs no download: a VGG-shaped pyramid of random filters of several sizes,
each layer rescaled on a fixed synthetic image so that every layer's activations have
unit scale. Gram matrices of random ReLU features are a known, decent texture descriptor
(Ustyuzhaninov et al. 2016; He et al. 2016); the calibration keeps the per-layer losses
balanced so the default Gatys weights work for both backbones.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import nn

from ganstyle.errors import GanstyleError
from ganstyle.io.weights import find_local_weights

log = logging.getLogger(__name__)

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG19_FILENAME = "vgg19-dcbb9e9d.pth"
WEIGHTS_ENV = "GANSTYLE_VGG19_WEIGHTS"
BACKBONES = ("auto", "vgg19", "random")
BACKBONE_CHOICES = BACKBONES  # what --backbone accepts, for every command's flags
POOLINGS = ("max", "avg")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision vgg19 ``features`` up to relu5_1: (block, conv index in block, in, out).
# The index of each conv in ``features`` is the official checkpoint key (features.N.weight).
_VGG19_CONVS = (
    (1, 1, 3, 64), (1, 2, 64, 64),
    (2, 1, 64, 128), (2, 2, 128, 128),
    (3, 1, 128, 256), (3, 2, 256, 256), (3, 3, 256, 256), (3, 4, 256, 256),
    (4, 1, 256, 512), (4, 2, 512, 512), (4, 3, 512, 512), (4, 4, 512, 512),
    (5, 1, 512, 512),
)


def _vgg19_feature_indices() -> dict[str, int]:
    """conv name -> index in torchvision's ``features`` Sequential (conv, relu, ..., pool)."""
    index, out, block_prev = 0, {}, 1
    for block, i, _, _ in _VGG19_CONVS:
        if block != block_prev:
            index += 1  # the pooling layer between blocks
            block_prev = block
        out[f"conv{block}_{i}"] = index
        index += 2  # conv + relu
    return out


VGG19_FEATURE_INDEX = _vgg19_feature_indices()


class FeatureBackbone(nn.Module):
    """A chain of named layers; ``forward(images, layers)`` returns the requested outputs.

    Parameters are frozen: backbones are fixed feature extractors, gradients flow to the
    input image (Gatys) or to another network (fast/AdaIN) only.
    """

    def __init__(self, name: str, layers: Sequence[tuple[str, nn.Module]], *,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                 pooling: str = "max", source: str = ""):
        super().__init__()
        self.name = name
        self.pooling = pooling
        self.source = source
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


def _pool(kind: str) -> nn.Module:
    if kind not in POOLINGS:
        raise GanstyleError(f"--pooling: {kind!r} is not one of {', '.join(POOLINGS)}")
    return nn.MaxPool2d(2, 2) if kind == "max" else nn.AvgPool2d(2, 2)


class _Relu(nn.ReLU):
    """ReLU that reports its channel count (for shape and memory bookkeeping)."""

    def __init__(self, channels: int):
        super().__init__(inplace=False)
        self.out_channels = channels


# ---------------------------------------------------------------------------- VGG-19


def vgg19_architecture(pooling: str = "max") -> FeatureBackbone:
    """VGG-19 up to relu5_1 with uninitialised (random) weights: same FLOPs as the real one."""
    layers: list[tuple[str, nn.Module]] = []
    block_prev = 1
    for block, i, cin, cout in _VGG19_CONVS:
        if block != block_prev:
            layers.append((f"pool{block_prev}", _pool(pooling)))
            block_prev = block
        layers.append((f"conv{block}_{i}", nn.Conv2d(cin, cout, 3, padding=1)))
        layers.append((f"relu{block}_{i}", _Relu(cout)))
    return FeatureBackbone("vgg19", layers, pooling=pooling, source="architecture only (random init)")


def torch_hub_checkpoint_dir() -> Path:
    """Where torch.hub caches checkpoints: $TORCH_HOME/hub/checkpoints (default ~/.cache/torch)."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        torch_home = os.path.join(xdg, "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def _offline_message(cache_file: Path) -> str:
    return (
        f"VGG-19 weights not found: download {VGG19_URL} to {cache_file} "
        f"(or pass --weights PATH / set {WEIGHTS_ENV}), or use --backbone random"
    )


def find_vgg19_weights(weights: str | os.PathLike | None = None) -> Path | None:
    """The local VGG-19 weights file: ``weights``, else $GANSTYLE_VGG19_WEIGHTS, else the hub cache.

    An explicitly named file that does not exist is an error; a missing cache file is None.
    """
    return find_local_weights(weights, WEIGHTS_ENV, torch_hub_checkpoint_dir() / VGG19_FILENAME,
                              f"torchvision's {VGG19_FILENAME} or a .safetensors with its keys")


def download_vgg19_weights(timeout: float = 30.0) -> Path:
    """Fetch the official checkpoint into the hub cache, checking its SHA-256 prefix."""
    dest = torch_hub_checkpoint_dir() / VGG19_FILENAME
    expected_prefix = VGG19_FILENAME.rsplit("-", 1)[1].split(".")[0]
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    print(f"downloading {VGG19_URL} -> {dest}", file=sys.stderr)
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(VGG19_URL, timeout=timeout) as response, open(tmp, "wb") as f:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                f.write(chunk)
    except (urllib.error.URLError, OSError, TimeoutError):
        tmp.unlink(missing_ok=True)
        raise GanstyleError(_offline_message(dest)) from None
    if not digest.hexdigest().startswith(expected_prefix):
        tmp.unlink(missing_ok=True)
        raise GanstyleError(f"{VGG19_URL}: downloaded file fails its SHA-256 check; try again")
    os.replace(tmp, dest)
    return dest


def _read_tensors(path: Path, keys: Sequence[str]) -> dict[str, torch.Tensor]:
    """Read only ``keys`` from a .safetensors or torch checkpoint (missing keys are left out)."""
    from ganstyle.io.weights import read_weights_file

    return read_weights_file(path, keys)


def load_vgg19_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The conv tensors below relu5_1 from an official-layout file, keyed ``features.N.weight/bias``."""
    path = Path(path)
    expected: dict[str, tuple[int, ...]] = {}
    for block, i, cin, cout in _VGG19_CONVS:
        idx = VGG19_FEATURE_INDEX[f"conv{block}_{i}"]
        expected[f"features.{idx}.weight"] = (cout, cin, 3, 3)
        expected[f"features.{idx}.bias"] = (cout,)
    tensors = _read_tensors(path, list(expected))
    missing = [k for k in expected if k not in tensors]
    if missing:
        raise GanstyleError(
            f"{path}: not a VGG-19 checkpoint in torchvision's layout: missing {len(missing)} of "
            f"{len(expected)} conv tensors (first: {missing[0]}); expected the file {VGG19_FILENAME} from {VGG19_URL}"
        )
    for k, shape in expected.items():
        if tuple(tensors[k].shape) != shape:
            raise GanstyleError(
                f"{path}: {k} has shape {tuple(tensors[k].shape)}, expected {shape} "
                f"(is this VGG-19 without batch norm, torchvision's {VGG19_FILENAME}?)"
            )
        if not tensors[k].is_floating_point():
            raise GanstyleError(f"{path}: {k} is not a floating-point tensor")
    return tensors


def vgg19(weights: str | os.PathLike | None = None, *, pooling: str = "max", download: bool = True,
          device: torch.device | str = "cpu") -> FeatureBackbone:
    """VGG-19 features up to relu5_1 with torchvision's ImageNet weights."""
    path = find_vgg19_weights(weights)
    if path is None:
        if not download:
            raise GanstyleError(_offline_message(torch_hub_checkpoint_dir() / VGG19_FILENAME))
        path = download_vgg19_weights()
    state = load_vgg19_state(path)
    net = vgg19_architecture(pooling)
    for name, idx in VGG19_FEATURE_INDEX.items():
        conv = net.stack[name]
        conv.weight.copy_(state[f"features.{idx}.weight"].float())
        conv.bias.copy_(state[f"features.{idx}.bias"].float())
    net.source = str(path)
    return net.to(device)


# ---------------------------------------------------------------------------- random


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


def random_backbone(seed: int = 0, *, pooling: str = "max", width: float = 1.0,
                    device: torch.device | str = "cpu") -> FeatureBackbone:
    """A deterministic random-filter pyramid with VGG's layer names (no download).

    ``width`` scales every layer's channel count (e.g. 0.5 for speed, 2 for quality).
    """
    key = (int(seed), pooling, float(width))
    g = torch.Generator().manual_seed(int(seed))
    layers: list[tuple[str, nn.Module]] = []
    cin, block_prev = 3, 1
    for name, groups in RANDOM_LAYOUT:
        block = int(name[4])
        if block != block_prev:
            layers.append((f"pool{block_prev}", _pool(pooling)))
            block_prev = block
        groups = tuple((max(4, int(round(c * width))), k, d, z) for c, k, d, z in groups)
        conv = MultiSizeConv(cin, groups, g)
        layers.append((name, conv))
        layers.append(("relu" + name[4:], _Relu(conv.out_channels)))
        cin = conv.out_channels
    net = FeatureBackbone("random", layers, pooling=pooling, source=f"random filters, seed {seed}")
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


# ---------------------------------------------------------------------------- choosing


def build_backbone(name: str = "auto", weights: str | os.PathLike | None = None, *, pooling: str = "max",
                   seed: int = 0, device: torch.device | str = "cpu", download: bool = True,
                   announce: bool = True) -> FeatureBackbone:
    """``vgg19`` (real weights), ``random`` (no download) or ``auto``: vgg19 when its weights are
    available locally (``weights``, $GANSTYLE_VGG19_WEIGHTS or the hub cache), else random."""
    if isinstance(name, FeatureBackbone):
        return name.to(device)
    if name not in BACKBONES:
        raise GanstyleError(f"--backbone: {name!r} is not one of {', '.join(BACKBONES)}")
    if pooling not in POOLINGS:
        raise GanstyleError(f"--pooling: {pooling!r} is not one of {', '.join(POOLINGS)}")
    if name == "auto":
        path = find_vgg19_weights(weights)
        if path is not None:
            net = vgg19(path, pooling=pooling, device=device)
            if announce:
                print(f"backbone: vgg19 ({path})", file=sys.stderr)
            return net
        if announce:
            print(f"backbone: random filters (seed {seed}); VGG-19 weights not found locally "
                  f"(put {VGG19_FILENAME} in {torch_hub_checkpoint_dir()} or set {WEIGHTS_ENV})", file=sys.stderr)
        return random_backbone(seed, pooling=pooling, device=device)
    if name == "vgg19":
        return vgg19(weights, pooling=pooling, download=download, device=device)
    return random_backbone(seed, pooling=pooling, device=device)
