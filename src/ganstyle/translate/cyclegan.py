"""CycleGAN (Zhu et al., 2017): two ResNet generators, two PatchGAN discriminators.

``G_ab`` maps domain A to B and ``G_ba`` back. The generators minimise, with LSGAN targets,

    adv(D_b(G_ab(a))) + adv(D_a(G_ba(b)))
    + cycle_weight * (|G_ba(G_ab(a)) - a|_1 + |G_ab(G_ba(b)) - b|_1)
    + identity_weight * cycle_weight * (|G_ba(a) - a|_1 + |G_ab(b) - b|_1)

and each discriminator is trained on real images against generated ones drawn from an
image pool of the last ``pool_size`` translations. The default sizes (16 channels, two
downsamplings, 3 residual blocks) train at 32 px on two CPU cores in minutes; the paper's
256-px model is ``--g-width 64 --n-res-blocks 9 --d-width 64 --d-layers 3``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganstyle.config import field
from ganstyle.gan.losses import get_loss
from ganstyle.translate.blocks import ImagePool, PatchDiscriminator, decoder_tail, encoder_layers


@dataclass
class CycleGANConfig:
    """Architecture and loss weights of CycleGAN (``--model cyclegan``)."""

    g_width: int = field(16, ge=1, help="generator channels after the first conv (doubles at each downsampling)")
    n_res_blocks: int = field(3, ge=0, help="residual blocks at the generator's lowest resolution")
    d_width: int = field(32, ge=1, help="discriminator channels of the first layer")
    d_layers: int = field(2, ge=1, help="stride-2 layers of the PatchGAN discriminator (patch size grows with it)")
    cycle_weight: float = field(10.0, ge=0, help="weight of the cycle-consistency L1 loss")
    identity_weight: float = field(0.5, ge=0, help="identity L1 loss weight, relative to --cycle-weight (0 = off)")
    pool_size: int = field(50, ge=0, help="generated images kept for discriminator updates (0 = no pool)")


class ResnetGenerator(nn.Module):
    """c7s1-w, two stride-2 convs, residual blocks, two upsampling convs, c7s1-3 + tanh."""

    def __init__(self, channels: int = 3, width: int = 16, n_res_blocks: int = 3, n_down: int = 2):
        super().__init__()
        layers, c = encoder_layers(channels, width, n_down, n_res_blocks)
        self.net = nn.Sequential(*layers, *decoder_tail(c, channels, n_down, norm="in"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CycleGAN(nn.Module):
    kind = "cyclegan"

    def __init__(self, cfg: CycleGANConfig, channels: int = 3, generator: torch.Generator | None = None):
        super().__init__()
        self.cfg = cfg
        self.G_ab = ResnetGenerator(channels, cfg.g_width, cfg.n_res_blocks)
        self.G_ba = ResnetGenerator(channels, cfg.g_width, cfg.n_res_blocks)
        self.D_a = PatchDiscriminator(channels, cfg.d_width, cfg.d_layers)
        self.D_b = PatchDiscriminator(channels, cfg.d_width, cfg.d_layers)
        self.gan = get_loss("lsgan")
        g = generator or torch.Generator().manual_seed(0)
        self.pool_a, self.pool_b = ImagePool(cfg.pool_size, g), ImagePool(cfg.pool_size, g)

    def generators(self) -> list[nn.Module]:
        return [self.G_ab, self.G_ba]

    def discriminators(self) -> list[nn.Module]:
        return [self.D_a, self.D_b]

    def generator_loss(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, dict, dict]:
        """(total, {part: value}, tensors the discriminator step needs)."""
        cfg = self.cfg
        fake_b, fake_a = self.G_ab(a), self.G_ba(b)
        parts = {
            "adv": self.gan.g_loss(self.D_b(fake_b)) + self.gan.g_loss(self.D_a(fake_a)),
            "cycle": F.l1_loss(self.G_ba(fake_b), a) + F.l1_loss(self.G_ab(fake_a), b),
        }
        total = parts["adv"] + cfg.cycle_weight * parts["cycle"]
        if cfg.identity_weight:
            parts["identity"] = F.l1_loss(self.G_ba(a), a) + F.l1_loss(self.G_ab(b), b)
            total = total + cfg.identity_weight * cfg.cycle_weight * parts["identity"]
        return total, parts, {"fake_a": fake_a.detach(), "fake_b": fake_b.detach()}

    def discriminator_loss(self, a: torch.Tensor, b: torch.Tensor, fakes: dict) -> tuple[torch.Tensor, dict]:
        pooled_b, pooled_a = self.pool_b.query(fakes["fake_b"]), self.pool_a.query(fakes["fake_a"])
        parts = {"d_b": self.gan.d_loss(self.D_b(b), self.D_b(pooled_b)),
                 "d_a": self.gan.d_loss(self.D_a(a), self.D_a(pooled_a))}
        return parts["d_a"] + parts["d_b"], parts

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "a2b", style: torch.Tensor | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """One translation per input; ``style``/``generator`` exist for MUNIT's signature."""
        return (self.G_ab if direction == "a2b" else self.G_ba)(x)

    def extra_state(self) -> dict:
        return {"pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict()}

    def load_extra_state(self, state: dict, device) -> None:
        self.pool_a.load_state_dict(state["pool_a"], device)
        self.pool_b.load_state_dict(state["pool_b"], device)
