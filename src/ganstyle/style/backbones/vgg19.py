"""``vgg19``: torchvision's ImageNet VGG-19 (Gatys et al.'s network), RGB in [0, 1], ImageNet mean/std."""

from __future__ import annotations

from ganstyle.style.backbones import vgg

SPEC = vgg.VGGSpec(
    name="vgg19",
    title="VGG-19",
    url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    filename="vgg19-dcbb9e9d.pth",
    env_var="GANSTYLE_VGG19_WEIGHTS",
    blocks=(2, 2, 4, 4, 4),
    description="torchvision's ImageNet VGG-19",
)


vgg19 = vgg.builder(SPEC)
