"""``vgg16``: torchvision's ImageNet VGG-16, the loss network of Johnson et al. (fast style transfer).

Its blocks have two or three convolutions, so the fast network's layers exist as in the paper:
style relu1_2, relu2_2, relu3_3, relu4_3; content relu2_2 (or relu3_3).
"""

from __future__ import annotations

import os

import torch

from ganstyle.style.backbones import vgg
from ganstyle.style.backbones.base import FeatureBackbone

SPEC = vgg.VGGSpec(
    name="vgg16",
    title="VGG-16",
    url="https://download.pytorch.org/models/vgg16-397923af.pth",
    filename="vgg16-397923af.pth",
    env_var="GANSTYLE_VGG16_WEIGHTS",
    blocks=(2, 2, 3, 3, 3),
    description="torchvision's ImageNet VGG-16",
)


def vgg16(weights: str | os.PathLike | None = None, *, pooling: str = "max", download: bool = True,
          device: torch.device | str = "cpu") -> FeatureBackbone:
    """VGG-16 features up to relu5_1 with torchvision's ImageNet weights (or a file in its layout)."""
    return vgg.build(SPEC, weights, pooling=pooling, download_missing=download, device=device)
