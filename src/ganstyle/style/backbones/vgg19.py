"""``vgg19``: torchvision's ImageNet VGG-19 (Gatys et al.'s network), RGB in [0, 1], ImageNet mean/std."""

from __future__ import annotations

import os

import torch

from ganstyle.style.backbones import vgg
from ganstyle.style.backbones.base import FeatureBackbone

SPEC = vgg.VGGSpec(
    name="vgg19",
    title="VGG-19",
    url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    filename="vgg19-dcbb9e9d.pth",
    env_var="GANSTYLE_VGG19_WEIGHTS",
    blocks=(2, 2, 4, 4, 4),
    description="torchvision's ImageNet VGG-19",
)


def vgg19(weights: str | os.PathLike | None = None, *, pooling: str = "max", download: bool = True,
          device: torch.device | str = "cpu") -> FeatureBackbone:
    """VGG-19 features up to relu5_1 with torchvision's ImageNet weights."""
    return vgg.build(SPEC, weights, pooling=pooling, download_missing=download, device=device)
