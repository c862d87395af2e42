import pytest

from ganstyle.gan.trainer import TrainConfig


@pytest.fixture
def tiny_mlp_cfg():
    """An MLP GAN on ring8 small enough to train in well under a second.

    No LR decay: resume tests extend runs (--steps N, then 2N), and a decay window tied to the
    total number of steps moves when the total does."""
    return TrainConfig(data="ring8", data_n=2000, model="mlp", latent_dim=4, g_width=32, d_width=32, depth=2,
                       batch_size=32, steps=20, log_every=5, sample_every=0, ckpt_every=10, device="cpu", lr_decay=0.0)


@pytest.fixture
def tiny_dcgan_cfg():
    """A DCGAN on 8x8 digits: exercises BatchNorm buffers, EMA and conv layers quickly."""
    return TrainConfig(data="digits", data_n=256, model="dcgan", latent_dim=8, g_width=8, d_width=8,
                       batch_size=16, steps=6, log_every=2, sample_every=0, ckpt_every=3, device="cpu")
