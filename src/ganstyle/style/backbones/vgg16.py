"""``vgg16``: torchvision's ImageNet VGG-16, the loss network of Johnson et al. (fast style transfer).

Its blocks have two or three convolutions, so the fast network's layers exist as in the paper:
style relu1_2, relu2_2, relu3_3, relu4_3; content relu2_2 (or relu3_3).
"""

from __future__ import annotations

from ganstyle.style.backbones import vgg

SPEC = vgg.VGGSpec(
    name="vgg16",
    title="VGG-16",
    url="https://download.pytorch.org/models/vgg16-397923af.pth",
    filename="vgg16-397923af.pth",
    env_var="GANSTYLE_VGG16_WEIGHTS",
    blocks=(2, 2, 3, 3, 3),
    description="torchvision's ImageNet VGG-16",
)


vgg16 = vgg.builder(SPEC)
