"""``vgg19-caffe``: the original Caffe VGG-19 converted to PyTorch, as neural-style(-pt) uses it.

Same architecture and key layout as torchvision's VGG-19, but the weights expect Caffe's input:
BGR channel order, values in 0..255, minus the per-channel ImageNet mean (103.939, 116.779,
123.68 for B, G, R) and no division by a std. Expressed in [0, 1] units that is
``(bgr - mean / 255) / (1 / 255)``, which is what the backbone applies.
"""

from __future__ import annotations

from ganstyle.style.backbones import vgg

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

SPEC = vgg.VGGSpec(
    name="vgg19-caffe",
    title="Caffe VGG-19",
    url="https://web.eecs.umich.edu/~justincj/models/vgg19-d01eb7cb.pth",
    filename="vgg19-d01eb7cb.pth",
    env_var="GANSTYLE_VGG19_CAFFE_WEIGHTS",
    blocks=(2, 2, 4, 4, 4),
    mean=tuple(m / 255.0 for m in CAFFE_MEAN_BGR),
    std=(1 / 255.0,) * 3,
    bgr=True,
    description="the Caffe VGG-19 of neural-style (BGR, 0-255, mean-subtracted)",
)


vgg19_caffe = vgg.builder(SPEC)
