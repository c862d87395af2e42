"""Family defaults on small data: no extra flags needed for tiny folders or 8 px digits."""

import pytest
import torch

from ganstyle.cli import main
from ganstyle.gan.layers import SelfAttention
from ganstyle.gan.trainer import GANTrainer, TrainConfig, resolve_defaults
from ganstyle.io.checkpoints import latest_checkpoint


def test_sagan_on_8px_digits_places_attention_by_image_size(tmp_path):
    trainer = GANTrainer(TrainConfig(data="digits", model="sagan", data_n=64, g_width=8, d_width=8, steps=1,
                                     sample_every=0, ckpt_every=0, precision="fp32"), tmp_path / "run")
    assert trainer.data_shape == (1, 8, 8)
    assert any(isinstance(m, SelfAttention) for m in trainer.G.modules())
    # D's maps at 8 px are 4x4 only, so there attention is in G alone
    trainer.train(progress=False)
    assert latest_checkpoint(tmp_path / "run" / "checkpoints") is not None


def test_batch_larger_than_a_13_image_folder_is_clamped(tmp_path, capsys):
    from ganstyle.io.images import save_image

    folder = tmp_path / "imgs"
    folder.mkdir()
    g = torch.Generator().manual_seed(0)
    for i in range(13):
        save_image(torch.rand(1, 16, 16, generator=g) * 2 - 1, folder / f"{i:02d}.png", value_range=(-1.0, 1.0))
    run = tmp_path / "run"
    argv = ["train", "--data", f"folder:{folder}", "--model", "dcgan", "--g-width", "8", "--d-width", "8",
            "--steps", "2", "--sample-every", "0", "--no-progress", "--out", str(run)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    notices = [line for line in out.splitlines() if "--batch-size" in line]
    default = resolve_defaults(TrainConfig(data=f"folder:{folder}", model="dcgan")).batch_size  # grey 16 px: the digits recipe
    assert default > 13
    assert notices == [f"notice: --batch-size {default} is larger than the dataset (13 samples); using 13"]
    assert "batch_size = 13" in (run / "config.toml").read_text()


def test_unusable_image_size_is_refused_before_training(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "--data", "digits", "--image-size", "30", "--model", "sngan", "--steps", "1", "--out", str(run)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--image-size 30" in err and len(err.strip().splitlines()) == 1
    assert not (run / "checkpoints").exists()
