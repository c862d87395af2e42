import numpy as np
import pytest
from PIL import Image

from ganstyle.translate.cyclegan import CycleGANConfig
from ganstyle.translate.data import digits_pair
from ganstyle.translate.munit import MUNITConfig
from ganstyle.translate.trainer import TranslateConfig


@pytest.fixture(scope="session")
def pair16():
    """The built-in digits pair at 16 px (about a second to build)."""
    return digits_pair(16)


@pytest.fixture
def tiny_cfg():
    return TranslateConfig(image_size=16, batch_size=4, steps=6, log_every=2, sample_every=3, ckpt_every=3,
                           n_samples=2, device="cpu")


@pytest.fixture
def tiny_cyclegan():
    return CycleGANConfig(g_width=4, n_res_blocks=1, d_width=4, d_layers=1, pool_size=5)


@pytest.fixture
def tiny_munit():
    return MUNITConfig(g_width=4, n_res_blocks=1, style_dim=3, mlp_dim=8, d_width=4, d_layers=1, cycle_weight=1.0)


def write_images(folder, n, size=12, mode="RGB", seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        arr = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(arr).convert(mode).save(folder / f"img{i}.png")
    return folder
