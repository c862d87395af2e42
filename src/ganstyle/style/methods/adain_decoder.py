"""AdaIN's decoder network, on its own so that the model shipped in the package
(:mod:`ganstyle.style.pretrained`) can be built without the AdaIN method that uses it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganstyle.style.methods.fast import UpsampleConv


class Decoder(nn.Module):
    """Mirror of VGG-19 up to relu4_1: reflection-padded 3x3 convs, nearest upsampling
    (as resize-convolutions computed at the low resolution, see ``fast.UpsampleConv``).

    ``width`` is the last stage's channel count (64 mirrors VGG; smaller for tests and
    small CPUs). ``forward(features, size)`` upsamples back to exactly ``size`` (H, W), the
    encoder's input size, odd sizes included.
    """

    def __init__(self, in_channels: int, width: int = 64):
        super().__init__()
        w1, w2, w4 = width, 2 * width, 4 * width
        self.in_channels, self.width = in_channels, width

        def conv(cin: int, cout: int, act: bool = True) -> nn.Sequential:
            layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
            if act:
                layers.append(nn.ReLU(inplace=True))
            return nn.Sequential(*layers)

        self.stage4 = conv(in_channels, w4)
        self.up3 = UpsampleConv(w4, w4)
        self.stage3 = nn.Sequential(conv(w4, w4), conv(w4, w4), conv(w4, w2))
        self.up2 = UpsampleConv(w2, w2)
        self.stage2 = conv(w2, w1)
        self.up1 = UpsampleConv(w1, w1)
        self.stage1 = conv(w1, 3, act=False)

    def forward(self, features: torch.Tensor, size: list[int]) -> torch.Tensor:
        # Each upsampling goes to the size the encoder's pooling had (floored halves), so the
        # output has the input's size and tiles sample the same grid as the whole image.
        h, w = size[0], size[1]
        x = self.stage4(features)
        x = self.stage3(F.relu(self.up3(x, [h // 4, w // 4])))
        x = self.stage2(F.relu(self.up2(x, [h // 2, w // 2])))
        return self.stage1(F.relu(self.up1(x, [h, w])))

    def bytes_per_pixel(self, bytes_per_value: int = 4) -> float:
        """Peak decoder activations per output pixel: ~3 live full-resolution maps of ``width`` channels."""
        return bytes_per_value * (3.0 * self.width + 3.0 * 2 * self.width / 4 + 12)
