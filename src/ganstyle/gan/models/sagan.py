"""SAGAN: the SNGAN ResNet family with a self-attention block
(Zhang, Goodfellow, Metaxas & Odena, "Self-Attention GANs", ICML 2019).

Attention sits after the generator block that outputs ``attn_res`` x ``attn_res`` maps and
after the discriminator block that reaches that size; unset, it follows the image size
(16 for 32 px images, see :func:`ganstyle.gan.models.sngan.attention_resolution`).
As in the paper: spectral norm in G as well as D, hinge loss, one D step per G step and
the two-timescale update rule (D learns 4x faster: 4e-4 vs 1e-4), Adam(β=(0, 0.9)).
"""

from __future__ import annotations

from dataclasses import dataclass

from ganstyle.config import field
from ganstyle.gan.models import sngan

DEFAULTS = {**sngan.DEFAULTS, "n_critic": 1, "g_lr": 1e-4, "d_lr": 4e-4, "beta1": 0.0, "beta2": 0.9}


@dataclass
class Options(sngan.Options):
    """The ResNet settings with SAGAN's defaults: the ``[sagan]`` table, ``--sagan.*`` flags."""

    attn_res: int | None = field(None, ge=0, help="self-attention at this feature-map size (0 = none; default: the "
                                 "largest feature map below the image size, 16 at 32 px as in the paper)")
    g_sn: bool = field(True, help="spectral norm in the generator too")


defaults_for_shape = sngan.defaults_for_shape


def check(cfg, data_shape) -> None:
    sngan.check(cfg, data_shape)


make_generator = sngan.make_generator
make_discriminator = sngan.make_discriminator
