"""DiffAugment with the small-grey DCGAN recipe (benchmarks/digits_recipes.py measures it on real digits):
the recipe's defaults leave it off, and turned on it trains in bf16 with D seeing augmented images."""

import io

import numpy as np
import torch
from PIL import Image

from ganstyle.gan.models import dcgan
from ganstyle.gan.trainer import GANTrainer, TrainConfig
from ganstyle.io.runlog import read_csv


def grey_folder(root, n: int, size: int):
    """n grey PNGs (copies of four random ones)."""
    rng = np.random.default_rng(0)
    pngs = []
    for _ in range(4):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8), mode="L").save(buf, format="PNG")
        pngs.append(buf.getvalue())
    root.mkdir(parents=True)
    for i in range(n):
        (root / f"{i:03d}.png").write_bytes(pngs[i % len(pngs)])
    return root


def test_small_grey_recipe_trains_with_translation_and_cutout_in_bf16(tmp_path):
    folder = grey_folder(tmp_path / "digits", 40, size=16)
    base = dict(data=f"folder:{folder}", model="dcgan", steps=3, log_every=1, sample_every=0, ckpt_every=0,
                device="cpu", precision="bf16")
    plain = GANTrainer(TrainConfig(**base), tmp_path / "plain")
    assert not plain.augment  # measured not to help at 500-2,000 digits: off by default
    trainer = GANTrainer(TrainConfig(**base, batch_size=8, diffaugment="translation,cutout"), tmp_path / "run")
    for key, value in dcgan.SMALL_GREY_DEFAULTS.items():  # the recipe itself, with only the batch changed
        assert getattr(trainer.cfg, key) == (8 if key == "batch_size" else value), key
    assert trainer.augment.names == ["translation", "cutout"] and trainer.data_shape == (1, 16, 16)
    seen = []  # what D is shown: in its update the real batch comes first
    d_forward = trainer.D_train.forward
    trainer.D_train.forward = lambda x, y=None: (seen.append(x.detach().float()), d_forward(x, y))[1]
    trainer.train(progress=False)
    assert trainer.step == 3
    losses = [float(row["d_loss"]) for row in read_csv(tmp_path / "run" / "metrics.csv")]
    assert len(losses) == 3 and np.isfinite(losses).all()
    # cutout's hole (half the side) and translation's padding are exact zeros (mid-grey); the
    # folder's own images have none (a uint8 value v maps to v / 127.5 - 1, never 0)
    assert (trainer.dataset.x == 0).sum() == 0
    real = seen[0]
    assert real.shape == (8, 1, 16, 16)
    assert ((real == 0).flatten(1).float().mean(1) >= 0.1).all()
