"""DCGAN defaults chosen by data: the small-grey-image recipe, spectral norm in D."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle.data.folder import probe_folder
from ganstyle.gan.models import build_models, dcgan
from ganstyle.gan.trainer import GANTrainer, TrainConfig, resolve_defaults


def write_folder(root, n: int, size: int, mode: str, classes: int = 0):
    """n random images of one mode; with classes, spread over class sub-folders."""
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / str(i % classes) if classes else root
        folder.mkdir(parents=True, exist_ok=True)
        shape = (size, size) if mode == "L" else (size, size, 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=mode).save(folder / f"{i:03d}.png")
    return root


def test_probe_tells_grey_from_colour_and_reads_the_size(tmp_path):
    assert probe_folder(write_folder(tmp_path / "grey", 5, 28, "L")) == (1, 28)
    assert probe_folder(write_folder(tmp_path / "rgb", 5, 20, "RGB")) == (3, 20)
    # RGB files whose three bands are equal are grey images
    grey_rgb = tmp_path / "grey_rgb"
    grey_rgb.mkdir()
    band = np.arange(24 * 24, dtype=np.uint8).reshape(24, 24)
    Image.fromarray(np.stack([band] * 3, -1)).save(grey_rgb / "a.png")
    assert probe_folder(grey_rgb) == (1, 24)
    assert probe_folder(tmp_path / "missing") is None


def test_small_grey_folder_gets_the_digits_recipe(tmp_path):
    folder = write_folder(tmp_path / "digits", 20, 28, "L", classes=2)
    cfg = resolve_defaults(TrainConfig(data=f"folder:{folder}", model="dcgan"))
    for key, value in dcgan.SMALL_GREY_DEFAULTS.items():
        assert getattr(cfg, key) == value, key
    assert (cfg.channels, cfg.image_size, cfg.precision) == (1, 28, "auto")  # its own size, not the folder loader's 64
    # named grey datasets at a small size get it too; the bundled 8 px digits keep the old defaults
    assert resolve_defaults(TrainConfig(data="mnist", model="dcgan")).g_width == dcgan.SMALL_GREY_DEFAULTS["g_width"]
    assert resolve_defaults(TrainConfig(data="digits", model="dcgan", image_size=32)).image_size == 32
    assert resolve_defaults(TrainConfig(data="digits", model="dcgan")).g_width == dcgan.DEFAULTS["g_width"]
    # an explicit flag still wins
    assert resolve_defaults(TrainConfig(data=f"folder:{folder}", model="dcgan", g_width=8)).g_width == 8


@pytest.mark.parametrize("mode,size,overrides", [("RGB", 28, {}), ("L", 64, {}), ("L", 28, {"channels": 3}),
                                                 ("L", 28, {"image_size": 64})])
def test_colour_or_large_images_keep_the_general_defaults(tmp_path, mode, size, overrides):
    folder = write_folder(tmp_path / "imgs", 4, size, mode)
    cfg = resolve_defaults(TrainConfig(data=f"folder:{folder}", model="dcgan", **overrides))
    for key, value in dcgan.DEFAULTS.items():
        assert getattr(cfg, key) == value, key
    assert cfg.ema_decay == 0.999 and cfg.channels == overrides.get("channels", 1 if mode == "L" else 3)


def test_odd_sized_grey_folder_gets_the_recipe_at_the_nearest_size_dcgan_builds(tmp_path):
    folder = write_folder(tmp_path / "imgs", 4, 17, "L")
    cfg = resolve_defaults(TrainConfig(data=f"folder:{folder}", model="dcgan"))
    assert (cfg.channels, cfg.image_size, cfg.g_width) == (1, 16, dcgan.SMALL_GREY_DEFAULTS["g_width"])


def test_small_grey_folder_trains_with_defaults_at_its_own_size(tmp_path):
    folder = write_folder(tmp_path / "digits", 24, 28, "L", classes=3)
    trainer = GANTrainer(TrainConfig(data=f"folder:{folder}", model="dcgan", steps=2, sample_every=0, ckpt_every=0,
                                     batch_size=8, device="cpu"), tmp_path / "run")
    assert trainer.data_shape == (1, 28, 28) and trainer.dataset.num_classes == 3
    trainer.train(progress=False)
    assert trainer.step == 2 and trainer.generate(3).shape == (3, 1, 28, 28)


def test_spectral_norm_discriminator_has_unit_sigma_and_no_norm_layers():
    from ganstyle.gan.layers import largest_singular_value

    cfg = resolve_defaults(TrainConfig(model="dcgan", data="digits", image_size=16, d_norm="sn", g_width=8, d_width=8))
    _, D = build_models(cfg, (1, 16, 16), None)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    D.train()
    for _ in range(30):  # power iterations run in training-mode forwards
        D(torch.randn(4, 1, 16, 16))
    D.eval()
    wrapped = [m for m in D.modules() if hasattr(m, "parametrizations")]
    assert len(wrapped) == 3  # two convolutions and the head
    for m in wrapped:
        assert largest_singular_value(m.weight) == pytest.approx(1.0, abs=0.02)
