"""One rule for every family: with no --image-size/--channels a run trains at the data's own size and
channels (the nearest size the family can build), said in one notice line."""

import numpy as np
import pytest
from PIL import Image

from ganstyle.errors import GanstyleError
from ganstyle.gan.models import MODELS
from ganstyle.gan.trainer import TrainConfig, resolve_defaults


def grey_folder(root, size: int, mode: str = "L", n: int = 3):
    root.mkdir(parents=True)
    rng = np.random.default_rng(size)
    shape = (size, size) if mode == "L" else (size, size, 3)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(root / f"{i}.png")
    return f"folder:{root}"


def resolve(data: str, model: str, **given):
    notices = []
    cfg = resolve_defaults(TrainConfig(data=data, model=model, **given), notice=notices.append)
    return cfg, notices


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_family_trains_a_grey_folder_at_its_own_size(tmp_path, model):
    data = grey_folder(tmp_path / "grey28", 28)
    cfg, notices = resolve(data, model)
    assert (cfg.channels, cfg.image_size) == (1, 28)
    assert notices == [f"notice: {data} holds 28 px images with 1 channel; training at 28 px with 1 channel "
                       "(--image-size/--channels change this)"]
    # a side the convolutional families cannot build becomes the nearest one they can (32 beats 28 on a tie)
    data = grey_folder(tmp_path / "grey30", 30)
    cfg, notices = resolve(data, model)
    size = 30 if model == "mlp" else 32
    assert (cfg.channels, cfg.image_size) == (1, size)
    why = "" if model == "mlp" else f", the nearest size {model} can build (30 px it cannot)"
    assert notices == [f"notice: {data} holds 30 px images with 1 channel; training at {size} px with 1 channel{why} "
                       "(--image-size/--channels change this)"]


def test_large_colour_folders_train_at_64_px_and_flags_win(tmp_path):
    data = grey_folder(tmp_path / "photos", 100, mode="RGB")
    cfg, notices = resolve(data, "sngan")
    assert (cfg.channels, cfg.image_size) == (3, 64)
    assert notices[0].endswith("training at 64 px with 3 channels, larger images are resized to 64 px "
                               "(--image-size/--channels change this)")
    cfg, notices = resolve(data, "sngan", image_size=32, channels=1)
    assert (cfg.channels, cfg.image_size, notices) == (1, 32, [])
    # named datasets keep their own shape, silently
    cfg, notices = resolve("mnist", "biggan")
    assert (cfg.channels, cfg.image_size, notices) == (1, 28, [])
    cfg, notices = resolve("ring8", "mlp")
    assert (cfg.channels, cfg.image_size, notices) == (None, None, [])


def test_an_unusable_size_given_is_named_before_the_data_is_read(tmp_path):
    missing = tmp_path / "not_there"  # the data is never touched: the size is checked first
    with pytest.raises(GanstyleError, match=r"^--image-size 30: sngan needs a size of 8 or more"):
        resolve_defaults(TrainConfig(data=f"folder:{missing}", model="sngan", image_size=30))
