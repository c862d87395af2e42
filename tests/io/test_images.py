"""Reading every image mode, EXIF orientation, broken files, atomic writes and grids."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle.errors import GanstyleError
from ganstyle.io import images as gi
from ganstyle.io.images import (
    image_to_array,
    list_images,
    load_image,
    make_grid,
    open_image,
    save_grid,
    save_image,
)


def read(path, **kw) -> np.ndarray:
    return image_to_array(open_image(path), path=path, **kw)


# ----------------------------------------------------------------------------- modes


def test_mode_1_bilevel(tmp_path):
    bits = np.indices((6, 8)).sum(axis=0) % 2 == 0
    Image.fromarray(bits).save(tmp_path / "b.png")
    assert Image.open(tmp_path / "b.png").mode == "1"
    arr = read(tmp_path / "b.png", channels=1)
    np.testing.assert_array_equal(arr[..., 0], bits.astype(np.float32))


def test_mode_L_exact(tmp_path):
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(grey).save(tmp_path / "g.png")
    np.testing.assert_array_equal(read(tmp_path / "g.png", channels=1)[..., 0], grey / np.float32(255))
    rgb = read(tmp_path / "g.png", channels=3)
    assert rgb.shape == (16, 16, 3) and (rgb == rgb[..., :1]).all()


def test_mode_LA_composites(tmp_path):
    la = np.stack([np.full((4, 4), 200, np.uint8), np.full((4, 4), 51, np.uint8)], axis=-1)  # alpha 0.2
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    arr = read(tmp_path / "la.png", channels=3, alpha="white")
    np.testing.assert_allclose(arr, 200 / 255 * 0.2 + 0.8, atol=1e-6)
    four = read(tmp_path / "la.png", channels=4, alpha="keep")
    np.testing.assert_allclose(four[0, 0], [200 / 255] * 3 + [0.2], atol=1e-6)


def test_mode_P_without_and_with_transparency(tmp_path):
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[:, :3] = (255, 0, 0)
    rgb[:, 3:] = (0, 128, 255)
    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    pal.save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    np.testing.assert_allclose(read(tmp_path / "p.png"), rgb / 255, atol=1e-6)

    index_of_red = pal.getpixel((0, 0))
    pal.save(tmp_path / "pt.png", transparency=index_of_red)
    img = open_image(tmp_path / "pt.png")
    assert img.mode == "RGBA"
    on_white = read(tmp_path / "pt.png", alpha="white")
    np.testing.assert_allclose(on_white[:, :3], 1.0, atol=1e-6)  # transparent red -> white
    np.testing.assert_allclose(on_white[:, 3:], rgb[:, 3:] / 255, atol=1e-6)
    assert (read(tmp_path / "pt.png", channels=4, alpha="keep")[:, :3, 3] == 0).all()


def test_mode_RGB_exact(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    np.testing.assert_array_equal(read(tmp_path / "c.png"), rgb / np.float32(255))
    grey = read(tmp_path / "c.png", channels=1)[..., 0]
    np.testing.assert_allclose(grey, (rgb / 255) @ np.array([0.299, 0.587, 0.114]), atol=1e-6)


@pytest.mark.parametrize("alpha,expected", [
    ("white", [1.0 * 0.4 + 0.6, 0.6, 0.6]),
    ("black", [0.4, 0.0, 0.0]),
    ("drop", [1.0, 0.0, 0.0]),
])
def test_mode_RGBA_alpha_modes(tmp_path, alpha, expected):
    rgba = np.zeros((3, 3, 4), np.uint8)
    rgba[...] = (255, 0, 0, 102)  # alpha 0.4
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    np.testing.assert_allclose(read(tmp_path / "a.png", alpha=alpha)[1, 1], expected, atol=1e-6)


def test_alpha_keep(tmp_path):
    rgba = np.zeros((3, 3, 4), np.uint8)
    rgba[...] = (0, 255, 0, 102)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    np.testing.assert_allclose(read(tmp_path / "a.png", channels=4, alpha="keep")[0, 0], [0, 1, 0, 0.4], atol=1e-6)
    with pytest.raises(GanstyleError, match="channels=4"):
        read(tmp_path / "a.png", channels=3, alpha="keep")


def test_cmyk_jpeg(tmp_path):
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in process colours
    cmyk.save(tmp_path / "cmyk.jpg", quality=100)
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    img = open_image(tmp_path / "cmyk.jpg")
    assert img.mode == "RGB"
    np.testing.assert_allclose(image_to_array(img)[8, 8], [1.0, 0.0, 0.0], atol=0.03)


def test_16_bit_png_exact(tmp_path):
    values = np.arange(0, 65536, 257, dtype=np.uint16)[:256].reshape(16, 16)
    values[0, 0], values[-1, -1] = 1, 65534  # values a 8-bit path would round away
    Image.fromarray(values).save(tmp_path / "deep.png")
    img = open_image(tmp_path / "deep.png")
    assert img.mode.startswith("I")
    grey = image_to_array(img, channels=1)[..., 0]
    np.testing.assert_array_equal(grey, values.astype(np.float32) / np.float32(65535))
    assert grey[0, 0] > 0 and grey[-1, -1] < 1
    rgb = image_to_array(img, channels=3)
    np.testing.assert_array_equal(rgb[..., 2], grey)


def test_float_tiff(tmp_path):
    inside = np.linspace(0, 1, 48, dtype=np.float32).reshape(6, 8)
    Image.fromarray(inside, mode="F").save(tmp_path / "f.tiff")
    np.testing.assert_array_equal(read(tmp_path / "f.tiff", channels=1)[..., 0], inside)
    outside = inside * 10 - 3  # out of [0, 1]: rescaled by its own range
    Image.fromarray(outside, mode="F").save(tmp_path / "g.tiff")
    np.testing.assert_allclose(read(tmp_path / "g.tiff", channels=1)[..., 0], inside, atol=1e-6)


def test_exif_orientation_is_applied(tmp_path):
    # Stored 40 wide x 20 tall: left half red, right half blue; tag 6 = display rotated 90° clockwise.
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)
    stored[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "rot.jpg", exif=exif, quality=100)
    arr = read(tmp_path / "rot.jpg")
    assert arr.shape == (40, 20, 3)
    expected = np.rot90(stored, k=-1) / 255
    away_from_edge = np.r_[0:16, 24:40]  # JPEG chroma subsampling blurs the colour boundary
    np.testing.assert_allclose(arr[away_from_edge], expected[away_from_edge], atol=0.05)
    assert arr[5, 10, 0] > 0.9 and arr[35, 10, 2] > 0.9  # red on top, blue at the bottom


# ----------------------------------------------------------------------------- broken files


def png_bytes(width: int, height: int, mode: int = 2) -> bytes:
    """A PNG header claiming ``width`` x ``height`` with one tiny IDAT (written by hand)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4)) + chunk(b"IEND", b"")


def noise_image(path, fmt):
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path, format=fmt)


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("JPEG", ".jpg")])
def test_truncated_files_name_the_file(tmp_path, fmt, suffix):
    path = tmp_path / f"cut{suffix}"
    noise_image(path, fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GanstyleError, match="corrupt or truncated") as info:
        open_image(path)
    assert str(path) in str(info.value)


def test_empty_text_and_folder(tmp_path):
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("this is not a picture\n")
    (tmp_path / "dir.png").mkdir()
    for name, message in [("zero.png", "file is empty"), ("text.png", "not an image file"),
                          ("dir.png", "is a folder"), ("missing.png", "no such file")]:
        with pytest.raises(GanstyleError, match=message) as info:
            load_image(tmp_path / name)
        assert str(tmp_path / name) in str(info.value)


def test_absurd_sizes_are_refused_before_decoding(tmp_path):
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_bytes(100_000, 100_000))
    with pytest.raises(GanstyleError, match="too large|pixels") as info:
        open_image(huge)
    assert str(huge) in str(info.value)
    # 108 MP is a real camera size: below max_pixels, so it is decoded (and this fake one
    # then fails as truncated) rather than refused by Pillow's lower 89 MP warning.
    camera = tmp_path / "camera.png"
    camera.write_bytes(png_bytes(12_000, 9_000))
    with pytest.raises(GanstyleError, match="corrupt or truncated"):
        open_image(camera)
    with pytest.raises(GanstyleError, match="12000x9000 pixels, more than the 100,000,000 allowed"):
        open_image(camera, max_pixels=100_000_000)
    small = tmp_path / "small.png"
    noise_image(small, "PNG")
    with pytest.raises(GanstyleError, match="64x64 pixels, more than the 1,000 allowed"):
        open_image(small, max_pixels=1000)
    assert open_image(small, max_pixels=64 * 64).size == (64, 64)


# ----------------------------------------------------------------------------- resize + load


def test_load_image_size_and_long_side(tmp_path):
    noise_image(tmp_path / "n.png", "PNG")
    Image.open(tmp_path / "n.png").crop((0, 0, 64, 32)).save(tmp_path / "wide.png")
    assert load_image(tmp_path / "wide.png", 16).shape == (3, 16, 16)
    assert load_image(tmp_path / "wide.png", (8, 12)).shape == (3, 8, 12)
    assert load_image(tmp_path / "wide.png", long_side=32, channels=1).shape == (1, 16, 32)
    with pytest.raises(GanstyleError, match="either size or long_side"):
        load_image(tmp_path / "wide.png", 16, long_side=8)


def test_list_images(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanstyleError, match="no images found"):
        list_images(tmp_path / "empty")
    nested = tmp_path / "nested"
    (nested / "a" / "b").mkdir(parents=True)
    (nested / ".thumbnails").mkdir()
    for rel in ["z.png", "a/y.JPG", "a/b/x.webp", "a/b/w.bmp", "a/b/v.jpeg", "a/.hidden.png", "a/notes.txt",
                ".thumbnails/z.png"]:
        (nested / rel).write_bytes(b"x")
    found = [p.relative_to(nested).as_posix() for p in list_images(nested)]
    assert found == ["a/b/v.jpeg", "a/b/w.bmp", "a/b/x.webp", "a/y.JPG", "z.png"]
    assert [p.name for p in list_images(nested, recursive=False)] == ["z.png"]
    with pytest.raises(GanstyleError, match="not a folder"):
        list_images(nested / "z.png")


# ----------------------------------------------------------------------------- writing


def test_save_image_round_trip(tmp_path):
    x = torch.rand(3, 9, 11)
    save_image(x * 2 - 1, tmp_path / "x.png", value_range=(-1, 1))
    back = load_image(tmp_path / "x.png")
    assert (back - x).abs().max() <= 0.5 / 255 + 1e-6
    save_image(x[:1], tmp_path / "grey.png")
    assert Image.open(tmp_path / "grey.png").mode == "L"
    with pytest.raises(GanstyleError, match="unknown image format"):
        save_image(x, tmp_path / "x.nope")


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.png"
    save_image(torch.zeros(3, 4, 4), target)
    before = target.read_bytes()

    def broken_save(self, fp, *args, **kwargs):
        with open(fp, "wb") as f:
            f.write(b"\x89PNG partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="No space"):
        save_image(torch.ones(3, 4, 4), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"], "the temporary file must be removed"


def test_atomic_write_bytes_replaces(tmp_path):
    gi.atomic_write_text(tmp_path / "t.txt", "one")
    gi.atomic_write_bytes(tmp_path / "t.txt", b"two")
    assert (tmp_path / "t.txt").read_text() == "two"
    assert len(list(tmp_path.iterdir())) == 1


def test_make_grid_layout():
    images = torch.tensor([1.0, 2.0, 3.0]).view(3, 1, 1, 1)
    expected = torch.tensor([
        [0, 0, 0, 0, 0],
        [0, 1, 0, 2, 0],
        [0, 0, 0, 0, 0],
        [0, 3, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ], dtype=torch.float32)[None]
    assert torch.equal(make_grid(images, nrow=2, padding=1, pad_value=0.0), expected)
    # Default: ceil(sqrt(n)) per row; 2x3 images, no padding.
    tiles = torch.arange(5 * 2 * 3, dtype=torch.float32).view(5, 1, 2, 3)
    grid = make_grid(tiles, padding=0, pad_value=-1.0)
    assert grid.shape == (1, 2 * 2, 3 * 3)
    assert torch.equal(grid[:, 0:2, 3:6], tiles[1]) and torch.equal(grid[:, 2:4, 3:6], tiles[4])
    assert (grid[:, 2:4, 6:9] == -1).all()
    with pytest.raises(ValueError):
        make_grid(torch.zeros(3, 4, 4))


def test_save_grid_upscale(tmp_path):
    imgs = torch.rand(4, 3, 5, 5) * 2 - 1
    save_grid(imgs, tmp_path / "g.png", nrow=2, padding=1, upscale=3)
    assert Image.open(tmp_path / "g.png").size == (2 * 16 + 1, 2 * 16 + 1)


def test_saved_files_get_the_usual_permissions(tmp_path):
    # The atomic write goes through a private temporary file; the result must not stay private.
    import os

    from ganstyle.io.images import atomic_write_text, save_image

    umask = os.umask(0)
    os.umask(umask)
    expected = 0o666 & ~umask
    text = atomic_write_text(tmp_path / "a.txt", "x")
    image = save_image(torch.rand(3, 4, 4), tmp_path / "b.png")
    assert (text.stat().st_mode & 0o777, image.stat().st_mode & 0o777) == (expected, expected)
