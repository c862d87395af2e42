"""Every image family trains with its own defaults (only --steps given) on the data users bring:
the bundled 8 px digits, a 13-image folder of odd-sized grayscale pictures (at 16 px, the nearest
size the families build to its smallest side, 17), and a labelled folder of 28 px digits at its
own size (no flags) and at 32 px."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle.cli import main
from ganstyle.config import read_config_file
from ganstyle.gan.generator import load_generator
from ganstyle.gan.layers import SelfAttention
from ganstyle.gan.trainer import TrainConfig, resolve_defaults

FAMILIES = ["dcgan", "sngan", "sagan", "cond", "biggan", "stylegan-lite"]
CONDITIONAL = {"cond", "biggan"}
ATTENTION = {"sagan", "biggan"}
# Widths of the ResNet and style-based families follow the image size (dcgan's are its own recipe).
EXPECTED_WIDTH = {8: 16, 16: 16, 28: 16, 32: 16, 64: 32}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from ganstyle.data import load_dataset

    root = tmp_path_factory.mktemp("family_data")
    rng = np.random.default_rng(0)
    odd = root / "odd13"
    odd.mkdir()
    for i in range(13):  # unlabelled, grayscale, every image a different non-square size
        h, w = 17 + 3 * i, 45 - 2 * i
        Image.fromarray((rng.random((h, w)) * 255).astype(np.uint8), "L").save(odd / f"{i:02d}.png")
    digits = load_dataset("digits", image_size=28)
    labelled = root / "digits28"
    for k in (3, 7):  # two classes: sub-folders give labels
        (labelled / str(k)).mkdir(parents=True)
        for j, img in enumerate(digits.x[digits.y == k][:6]):
            arr = ((img[0].numpy() + 1) * 127.5).round().astype(np.uint8)
            Image.fromarray(arr, "L").save(labelled / str(k) / f"{j}.png")
    return {"odd13": (f"folder:{odd}", [], 16, 1, 13),
            "digits28": (f"folder:{labelled}", [], 28, 1, 12),
            "digits28-at-32": (f"folder:{labelled}", ["--image-size", "32", "--channels", "1"], 32, 1, 12),
            "digits": ("digits", [], 8, 1, None)}


@pytest.mark.parametrize("data", ["digits", "odd13", "digits28", "digits28-at-32"])
@pytest.mark.parametrize("model", FAMILIES)
def test_family_trains_with_its_defaults(folders, model, data, tmp_path, capsys):
    spec, extra, size, channels, n_images = folders[data]
    run = tmp_path / "run"
    argv = ["train", "--data", spec, *extra, "--model", model, "--steps", "2", "--sample-every", "0",
            "--n-samples", "4", "--no-progress", "--out", str(run)]
    code = main(argv)
    out, err = capsys.readouterr()
    if model in CONDITIONAL and data == "odd13":
        assert code == 2
        assert err.strip().splitlines() == [f"ganstyle train: error: --model {model}: dataset '{spec}' has no labels; "
                                            "class-conditional training needs digits, mnist, fashion-mnist, cifar10 "
                                            "or folder:PATH with one sub-folder per class"]
        assert not (run / "checkpoints").exists()
        return
    assert code == 0, err
    cfg = read_config_file(run / "config.toml")
    notices = [line for line in out.splitlines() if line.startswith("notice: --batch-size")]
    if n_images is not None:  # the default batch (64; 32 for dcgan on small grey images) is larger than these folders
        given = {flag[2:].replace("-", "_"): int(value) for flag, value in zip(extra[::2], extra[1::2])}
        batch = resolve_defaults(TrainConfig(data=spec, model=model, **given)).batch_size
        assert batch == (32 if model == "dcgan" and channels == 1 else 64)
        assert notices == [f"notice: --batch-size {batch} is larger than the dataset ({n_images} samples); using {n_images}"]
        assert cfg["batch_size"] == n_images
    else:
        assert notices == []
    shape_notices = [line for line in out.splitlines() if line.startswith(f"notice: {spec} holds")]
    assert len(shape_notices) == (1 if spec.startswith("folder:") and not extra else 0)
    if shape_notices:
        assert f"training at {size} px with 1 channel" in shape_notices[0]
    if model != "dcgan":
        assert (cfg["g_width"], cfg["d_width"]) == (EXPECTED_WIDTH[size],) * 2
    G = load_generator(run)
    x = G.generate(4, seed=0)
    assert x.shape == (4, channels, size, size) and torch.isfinite(x).all()
    if model in ATTENTION:  # at the largest feature map below the image size: the generator always has one
        assert any(isinstance(m, SelfAttention) for m in G.generator.modules())


@pytest.mark.parametrize("model", FAMILIES)
def test_unusable_image_size_is_named_before_training(model, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--data", "digits", "--image-size", "30", "--model", model, "--steps", "1",
                 "--out", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"ganstyle train: error: --image-size 30: {model} needs a size")
    assert not (run / "checkpoints").exists()
