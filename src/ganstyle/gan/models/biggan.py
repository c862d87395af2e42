"""BigGAN-lite: the conditional SNGAN/SAGAN family with BigGAN's shared class embedding and
hierarchical latents (Brock, Donahue & Simonyan, "Large Scale GAN Training for High
Fidelity Natural Image Synthesis", ICLR 2019).

``z`` is split into one chunk for the input layer and one per generator block; every
block's conditional BatchNorm is linear in ``[shared_embedding(y), z_chunk]``. Spectral
norm in G and D, self-attention at ``attn_res``, hinge loss, D learning rate 4x G's, and
sampling with the truncation trick (``--truncation 0.5`` redraws |z| > 0.5).
"""

from __future__ import annotations

from ganstyle.gan.models import sagan, sngan

CONDITIONAL = True
SHARED_DIM = 32
DEFAULTS = {**sagan.DEFAULTS, "latent_dim": 120}
Options = sagan.Options  # the [biggan] table: attention at 16, spectral norm in G


defaults_for_shape = sngan.defaults_for_shape


def check(cfg, data_shape) -> None:
    sngan.check(cfg, data_shape)


def make_generator(cfg, data_shape, num_classes):
    return sngan.make_generator(cfg, data_shape, num_classes, shared_dim=SHARED_DIM, hierarchical=True)


make_discriminator = sngan.make_discriminator
