"""``folder:PATH`` datasets: mixed image modes, labels from sub-folders, broken files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle.data import folder as folder_mod
from ganstyle.data import load_dataset
from ganstyle.data.folder import load_folder
from ganstyle.errors import GanstyleError

RED, BLUE = (255, 0, 0), (0, 0, 255)


def solid(mode: str, size, colour) -> Image.Image:
    return Image.new(mode, size, colour)


@pytest.fixture
def animals(tmp_path):
    """Two classes, six modes, five formats, one EXIF-rotated photo, one file nested deeper."""
    root = tmp_path / "animals"
    (root / "cats" / "indoor").mkdir(parents=True)
    (root / "dogs").mkdir()
    solid("RGB", (40, 30), RED).save(root / "cats" / "red.png")
    solid("L", (20, 20), 128).save(root / "cats" / "indoor" / "grey.jpg", quality=100)
    rgba = solid("RGBA", (24, 24), (0, 0, 0, 0))  # fully transparent: composited on white
    rgba.save(root / "dogs" / "clear.png")
    pal = solid("RGB", (30, 20), BLUE).convert("P")
    pal.save(root / "dogs" / "blue.bmp")
    sixteen = np.full((16, 16), 65535 // 4, np.uint16)
    Image.fromarray(sixteen).save(root / "dogs" / "deep.png")
    (root / "dogs" / "notes.txt").write_text("not an image, and not an image suffix")
    solid("RGB", (12, 12), (0, 255, 0)).save(root / "cats" / "green.webp", lossless=True)
    # Stored landscape (left red, right blue), EXIF tag 6: shown portrait, red on top.
    stored = np.zeros((10, 20, 3), np.uint8)
    stored[:, :10] = RED
    stored[:, 10:] = BLUE
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(root / "dogs" / "rotated.jpg", exif=exif, quality=100)
    return root


def test_mixed_modes_labels_and_values(animals):
    ds = load_folder(animals, image_size=8, channels=3)
    assert ds.x.shape == (7, 3, 8, 8) and ds.x.dtype == torch.float32
    assert ds.class_names == ["cats", "dogs"] and ds.num_classes == 2
    files = [p.split("animals/")[1] for p in ds.meta["files"]]
    assert files == ["cats/green.webp", "cats/indoor/grey.jpg", "cats/red.png",
                     "dogs/blue.bmp", "dogs/clear.png", "dogs/deep.png", "dogs/rotated.jpg"]
    assert ds.y.tolist() == [0, 0, 0, 1, 1, 1, 1]
    mean = ds.x[:6].mean(dim=(2, 3))
    expected = torch.tensor([
        [0.0, 1.0, 0.0],     # lossless WebP green
        [128 / 255] * 3,     # 8-bit grey
        [1.0, 0.0, 0.0],     # RGB red
        [0.0, 0.0, 1.0],     # palette blue
        [1.0, 1.0, 1.0],     # transparent -> white
        [0.25, 0.25, 0.25],  # 16-bit grey at a quarter of full scale
    ]) * 2 - 1
    torch.testing.assert_close(mean, expected, atol=0.02, rtol=0)
    rotated = (ds.x[6] + 1) / 2
    assert rotated[0, 0].min() > 0.8 and rotated[2, 0].max() < 0.2  # top row red
    assert rotated[2, -1].min() > 0.8 and rotated[0, -1].max() < 0.2  # bottom row blue


def test_grey_output_uses_luma(animals):
    ds = load_folder(animals, image_size=4, channels=1)
    assert ds.x.shape == (7, 1, 4, 4)
    red = ds.x[2].mean().item()
    assert red == pytest.approx(0.299 * 2 - 1, abs=0.01)


def test_resize_then_centre_crop(tmp_path):
    # 60x20: blue 20-pixel bands at both ends, red in the middle third.
    img = np.zeros((20, 60, 3), np.uint8)
    img[:, :20] = BLUE
    img[:, 20:40] = RED
    img[:, 40:] = BLUE
    Image.fromarray(img).save(tmp_path / "wide.png")
    ds = load_folder(tmp_path, image_size=10, channels=3)
    assert ds.x.shape == (1, 3, 10, 10)
    centre = (ds.x[0, :, :, 2:8] + 1) / 2  # the crop keeps the red middle; its edges may blend
    torch.testing.assert_close(centre[0], torch.ones(10, 6), atol=0.02, rtol=0)
    torch.testing.assert_close(centre[2], torch.zeros(10, 6), atol=0.02, rtol=0)
    assert ds.y is None and ds.class_names is None


def test_single_class_folder_or_loose_files_are_unlabelled(tmp_path):
    (tmp_path / "only").mkdir()
    for i in range(2):
        solid("RGB", (8, 8), RED).save(tmp_path / "only" / f"{i}.png")
    assert load_folder(tmp_path, image_size=8).y is None
    (tmp_path / "other").mkdir()
    solid("RGB", (8, 8), BLUE).save(tmp_path / "other" / "x.png")
    assert load_folder(tmp_path, image_size=8).class_names == ["only", "other"]
    solid("RGB", (8, 8), BLUE).save(tmp_path / "loose.png")
    assert load_folder(tmp_path, image_size=8).y is None


def test_corrupt_file_is_named(animals):
    bad = animals / "dogs" / "broken.png"
    good = (animals / "cats" / "red.png").read_bytes()
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(GanstyleError) as info:
        load_folder(animals, image_size=8)
    assert str(bad) in str(info.value)
    (animals / "dogs" / "empty.jpg").write_bytes(b"")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_folder(animals, image_size=8, skip_bad=True)
    assert len(ds) == 7 and ds.y.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert len(ds.meta["skipped"]) == 2
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "skipped 2" in messages[0] and "broken.png" in messages[0] and "empty.jpg" in messages[0]


def test_all_files_bad_with_skip(tmp_path):
    (tmp_path / "a.png").write_text("hello")
    with pytest.raises(GanstyleError, match="none of the 1 image files"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_folder(tmp_path, image_size=8, skip_bad=True)


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(GanstyleError, match="no images found") as info:
        load_folder(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(info.value)
    with pytest.raises(GanstyleError, match="no such folder"):
        load_folder(tmp_path / "nope")


def test_memory_estimate_refuses_with_a_smaller_size(animals, monkeypatch):
    # 7 images x 3 x 64 x 64 x 4 bytes = 344,064 bytes; pretend the machine has 560 kB.
    monkeypatch.setattr(folder_mod, "total_memory_bytes", lambda: 560_000)
    with pytest.raises(GanstyleError) as info:
        load_folder(animals, image_size=64)
    msg = str(info.value)
    assert "--image-size" in msg and "e.g. 48" in msg and str(animals) in msg
    assert len(load_folder(animals, image_size=48)) == 7


def test_through_load_dataset(animals):
    ds = load_dataset(f"folder:{animals}", image_size=16, channels=1, n=3, seed=1)
    assert ds.x.shape == (3, 1, 16, 16) and ds.y is not None and len(ds.y) == 3
    assert ds.x.min() >= -1 and ds.x.max() <= 1
    with pytest.raises(GanstyleError, match="needs a path"):
        load_dataset("folder:")
    with pytest.raises(GanstyleError, match="no such folder"):
        load_dataset(f"folder:{animals}/missing")
