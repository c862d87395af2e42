"""MUNIT-lite (Huang et al., 2018): content encoder + style encoder + AdaIN decoder per domain.

An image is split into a *content code* (a feature map, shared across domains) and a
low-dimensional *style code* (a vector, specific to its domain). Translating A → B keeps
the content code of an A image and decodes it with a B style code, either drawn from
N(0, I) (several draws give several translations of one input) or taken from a reference
B image with B's style encoder. The decoder applies the style through AdaIN: an MLP maps
the style code to a scale and shift for every normalised channel of its residual blocks.

Losses, per domain, with LSGAN targets (weights are flags):

    adv(D_b(dec_b(c_a, s_b)))                                   translations look like B
    recon_x_weight * |dec_a(enc_a(a)) - a|_1                    images survive encode/decode
    recon_c_weight * |content(dec_b(c_a, s_b)) - c_a|_1         content survives translation
    recon_s_weight * |style_b(dec_b(c_a, s_b)) - s_b|_1         the sampled style is used
    cycle_weight   * |dec_a(content(dec_b(c_a, s_b)), s_a') - a|_1   optional (0 in the paper's default)

"lite": one discriminator scale instead of three, and small widths so that 32 px trains on
a CPU in minutes; widths, depths and the style dimension are flags.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganstyle.config import field
from ganstyle.gan.losses import get_loss
from ganstyle.translate.blocks import AdaIN, PatchDiscriminator, ResBlock, conv_block, decoder_tail, encoder_layers


@dataclass
class MUNITConfig:
    """Architecture and loss weights of MUNIT-lite (``--model munit``)."""

    g_width: int = field(16, ge=1, help="encoder channels after the first conv (doubles at each downsampling)")
    n_res_blocks: int = field(2, ge=0, help="residual blocks in the content encoder and (with AdaIN) in the decoder")
    style_dim: int = field(8, ge=1, help="dimension of the style code")
    mlp_dim: int = field(64, ge=1, help="hidden units of the MLP that turns a style code into AdaIN parameters")
    d_width: int = field(32, ge=1, help="discriminator channels of the first layer")
    d_layers: int = field(2, ge=1, help="stride-2 layers of the PatchGAN discriminator (patch size grows with it)")
    recon_x_weight: float = field(10.0, ge=0, help="weight of the image reconstruction L1 loss")
    recon_c_weight: float = field(1.0, ge=0, help="weight of the content-code reconstruction L1 loss")
    recon_s_weight: float = field(1.0, ge=0, help="weight of the style-code reconstruction L1 loss")
    cycle_weight: float = field(0.0, ge=0, help="weight of the explicit cycle L1 loss (MUNIT's optional term)")


N_DOWN = 2


class ContentEncoder(nn.Module):
    def __init__(self, channels: int, width: int, n_res_blocks: int):
        super().__init__()
        layers, c = encoder_layers(channels, width, N_DOWN, n_res_blocks)
        self.net, self.out_channels = nn.Sequential(*layers), c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class StyleEncoder(nn.Module):
    """Convolutions without normalisation (it would erase the style), global pooling, 1x1 conv."""

    def __init__(self, channels: int, width: int, style_dim: int):
        super().__init__()
        layers: list[nn.Module] = [conv_block(channels, width, 7, norm="none")]
        c = width
        for _ in range(N_DOWN + 1):
            layers.append(conv_block(c, min(2 * c, 4 * width), 3, stride=2, norm="none"))
            c = min(2 * c, 4 * width)
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, style_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)


class Decoder(nn.Module):
    """AdaIN residual blocks, then upsampling with layer norm, then c7s1-3 + tanh."""

    def __init__(self, channels: int, content_channels: int, n_res_blocks: int, style_dim: int, mlp_dim: int):
        super().__init__()
        c = content_channels
        self.res = nn.Sequential(*[ResBlock(c, norm="adain") for _ in range(n_res_blocks)])
        self.up = nn.Sequential(*decoder_tail(c, channels, N_DOWN, norm="ln"))
        self.adain = [m for m in self.res.modules() if isinstance(m, AdaIN)]
        n_params = sum(2 * m.channels for m in self.adain)
        self.mlp = nn.Sequential(nn.Linear(style_dim, mlp_dim), nn.ReLU(inplace=True),
                                 nn.Linear(mlp_dim, mlp_dim), nn.ReLU(inplace=True), nn.Linear(mlp_dim, n_params))

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        params = self.mlp(style)
        for m in self.adain:
            scale, shift, params = params[:, :m.channels], params[:, m.channels:2 * m.channels], params[:, 2 * m.channels:]
            m.set_params(scale, shift)
        return self.up(self.res(content))


class DomainAutoencoder(nn.Module):
    """Content encoder, style encoder and decoder of one domain."""

    def __init__(self, channels: int, cfg: MUNITConfig):
        super().__init__()
        self.content = ContentEncoder(channels, cfg.g_width, cfg.n_res_blocks)
        self.style = StyleEncoder(channels, cfg.g_width, cfg.style_dim)
        self.decode = Decoder(channels, self.content.out_channels, cfg.n_res_blocks, cfg.style_dim, cfg.mlp_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.content(x), self.style(x)


class MUNIT(nn.Module):
    kind = "munit"

    def __init__(self, cfg: MUNITConfig, channels: int = 3, generator: torch.Generator | None = None):
        super().__init__()
        self.cfg = cfg
        self.ae_a, self.ae_b = DomainAutoencoder(channels, cfg), DomainAutoencoder(channels, cfg)
        self.D_a = PatchDiscriminator(channels, cfg.d_width, cfg.d_layers)
        self.D_b = PatchDiscriminator(channels, cfg.d_width, cfg.d_layers)
        self.gan = get_loss("lsgan")
        self.noise = generator or torch.Generator().manual_seed(0)

    def generators(self) -> list[nn.Module]:
        return [self.ae_a, self.ae_b]

    def discriminators(self) -> list[nn.Module]:
        return [self.D_a, self.D_b]

    def random_style(self, n: int, device, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.cfg.style_dim, device=device, generator=generator or self.noise)

    def generator_loss(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, dict, dict]:
        cfg = self.cfg
        c_a, s_a_own = self.ae_a.encode(a)
        c_b, s_b_own = self.ae_b.encode(b)
        s_a, s_b = self.random_style(len(a), a.device), self.random_style(len(b), b.device)
        fake_a, fake_b = self.ae_a.decode(c_b, s_a), self.ae_b.decode(c_a, s_b)
        c_b_back, s_a_back = self.ae_a.encode(fake_a)
        c_a_back, s_b_back = self.ae_b.encode(fake_b)
        parts = {
            "adv": self.gan.g_loss(self.D_a(fake_a)) + self.gan.g_loss(self.D_b(fake_b)),
            "recon_x": F.l1_loss(self.ae_a.decode(c_a, s_a_own), a) + F.l1_loss(self.ae_b.decode(c_b, s_b_own), b),
            "recon_c": F.l1_loss(c_a_back, c_a) + F.l1_loss(c_b_back, c_b),
            "recon_s": F.l1_loss(s_a_back, s_a) + F.l1_loss(s_b_back, s_b),
        }
        total = (parts["adv"] + cfg.recon_x_weight * parts["recon_x"] + cfg.recon_c_weight * parts["recon_c"]
                 + cfg.recon_s_weight * parts["recon_s"])
        if cfg.cycle_weight:
            parts["cycle"] = (F.l1_loss(self.ae_a.decode(c_a_back, s_a_own), a)
                              + F.l1_loss(self.ae_b.decode(c_b_back, s_b_own), b))
            total = total + cfg.cycle_weight * parts["cycle"]
        return total, parts, {"fake_a": fake_a.detach(), "fake_b": fake_b.detach()}

    def discriminator_loss(self, a: torch.Tensor, b: torch.Tensor, fakes: dict) -> tuple[torch.Tensor, dict]:
        parts = {"d_b": self.gan.d_loss(self.D_b(b), self.D_b(fakes["fake_b"])),
                 "d_a": self.gan.d_loss(self.D_a(a), self.D_a(fakes["fake_a"]))}
        return parts["d_a"] + parts["d_b"], parts

    @torch.no_grad()
    def style_of(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        """Style codes of images of ``domain`` ("a" or "b"), for reference-guided translation."""
        return (self.ae_a if domain == "a" else self.ae_b).style(x)

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "a2b", style: torch.Tensor | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """Translate with ``style`` codes (N, style_dim) or (1, style_dim), else codes drawn from N(0, I)."""
        src, dst = (self.ae_a, self.ae_b) if direction == "a2b" else (self.ae_b, self.ae_a)
        if style is None:
            style = self.random_style(len(x), x.device, generator)
        elif style.shape[0] == 1:
            style = style.expand(len(x), -1)
        return dst.decode(src.content(x), style)

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, state: dict, device) -> None:
        pass
