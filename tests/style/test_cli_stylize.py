"""``ganstyle stylize`` end to end on tiny images: every image mode, broken files, refusals."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from ganstyle.cli import main
from ganstyle.errors import GanstyleError
from ganstyle.style import api
from ganstyle.style.methods import gatys

FAST = ["--size", "32", "--iterations", "2", "--backbone", "random", "--quiet"]


def run(capsys, *argv):
    code = main(["stylize", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def pattern(h=24, w=40):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 6) % 256, (y * 10) % 256, ((x + y) * 4) % 256], -1).astype(np.uint8)


def test_stylize_writes_output(image_files, tmp_path, capsys):
    content, style = image_files
    out = tmp_path / "out.png"
    code, stdout, _ = run(capsys, content, style, "--out", out, *FAST)
    assert code == 0 and out.is_file() and str(out) in stdout
    assert Image.open(out).size == (32, 32)
    assert not list(tmp_path.glob(".*tmp*"))  # the atomic write left nothing behind


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16", "CMYK", "LA", "1"])
def test_stylize_accepts_any_image_mode(tmp_path, capsys, mode, image_files):
    _, style = image_files
    rgb = Image.fromarray(pattern())
    if mode == "I;16":
        img = Image.fromarray(np.asarray(rgb.convert("L"), np.uint16) * 257)
        assert img.mode == "I;16"
    elif mode == "RGBA":
        img = rgb.convert("RGBA")
        img.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (24, 1))))
    else:
        img = rgb.convert(mode)
    path = tmp_path / ("in.jpg" if mode == "CMYK" else "in.png")
    img.save(path)
    out = tmp_path / "out.png"
    code, _, err = run(capsys, path, style, "--out", out, *FAST)
    assert code == 0, err
    assert Image.open(out).size == (32, 19)


def test_keep_alpha(tmp_path, capsys, image_files):
    _, style = image_files
    img = Image.fromarray(pattern()).convert("RGBA")
    alpha = np.zeros((24, 40), np.uint8)
    alpha[:, 20:] = 255
    img.putalpha(Image.fromarray(alpha))
    path = tmp_path / "rgba.png"
    img.save(path)
    out = tmp_path / "out.png"
    assert run(capsys, path, style, "--out", out, "--keep-alpha", *FAST)[0] == 0
    result = np.asarray(Image.open(out))
    assert result.shape == (19, 32, 4)
    assert result[:, :12, 3].max() < 10 and result[:, 20:, 3].min() > 245
    code, _, err = run(capsys, path, style, "--out", tmp_path / "out.jpg", "--keep-alpha", *FAST)
    assert code == 2 and "use .png" in err


def test_exif_orientation_is_applied(tmp_path, capsys, image_files):
    _, style = image_files
    img = Image.fromarray(pattern(24, 40))  # landscape pixels, tagged "rotate 90": upright it is portrait
    exif = img.getexif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif.tobytes())
    out = tmp_path / "out.png"
    assert run(capsys, path, style, "--out", out, *FAST)[0] == 0
    assert Image.open(out).size == (19, 32)


def broken_files(tmp_path):
    good = io.BytesIO()
    Image.fromarray(pattern(64, 64)).save(good, format="PNG")
    data = good.getvalue()
    files = {
        "corrupt.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "truncated.png": data[: len(data) // 2],
        "empty.png": b"",
        "text.jpg": b"this is not an image\n",
    }
    paths = []
    for name, content in files.items():
        p = tmp_path / name
        p.write_bytes(content)
        paths.append(p)
    return paths + [tmp_path / "missing.png", tmp_path]


def test_bad_images_exit_2_with_one_line(tmp_path, capsys, image_files):
    content, style = image_files
    for bad in broken_files(tmp_path / "bad" if (tmp_path / "bad").mkdir() is None else tmp_path):
        for argv in ([bad, style], [content, bad]):
            code, _, err = run(capsys, *argv, "--out", tmp_path / "out.png", *FAST)
            assert code == 2, (bad, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and str(bad) in lines[0] and "Traceback" not in err, err
    assert not (tmp_path / "out.png").exists()


def test_refuses_to_overwrite_inputs(image_files, capsys):
    content, style = image_files
    before = content.read_bytes()
    for target in (content, style, content.parent / "." / content.name):
        code, _, err = run(capsys, content, style, "--out", target, *FAST)
        assert code == 2 and "refusing to overwrite" in err
    assert content.read_bytes() == before


def test_absurd_size_refused_before_allocation(image_files, capsys, monkeypatch):
    content, style = image_files

    def must_not_load(*a, **k):
        raise AssertionError("image was decoded at the requested size")

    monkeypatch.setattr(gatys, "load_content", must_not_load)
    code, _, err = run(capsys, content, style, "--out", content.parent / "big.png", "--size", "16000",
                       "--backbone", "random", "--quiet")
    assert code == 2 and "--size" in err and "GiB" in err and "--scales" in err


def test_flag_errors(image_files, capsys, tmp_path):
    content, style = image_files
    out = tmp_path / "o.png"
    code, _, err = run(capsys, content, style, "--out", out, "--style-blend", "1,2", *FAST)
    assert code == 2 and "--style-blend" in err
    code, _, err = run(capsys, content, style, "--out", out, "--size", "10", "--iterations", "1", "--quiet")
    assert code == 2 and "--size" in err and "at least 16" in err
    code, _, err = run(capsys, content, "--out", out, "--method", "fast")
    assert code == 2 and "--model" in err
    code, _, err = run(capsys, content, "--out", out, "--method", "adain")  # the shipped model needs no --model
    assert code == 2 and "style image" in err
    code, _, err = run(capsys, content, "--out", out, *FAST)
    assert code == 2 and "style image" in err
    code, _, err = run(capsys, content, style, "--out", content / "x.png", *FAST)
    assert code == 2 and "cannot write" in err
    with pytest.raises(GanstyleError, match="unknown option"):
        api.stylize(torch.rand(3, 16, 16), [torch.rand(3, 16, 16)], iterations=1, colour="red")


def test_stylize_api_tensor_in_tensor_out():
    img = api.stylize(torch.rand(3, 40, 20), torch.rand(3, 16, 16), size=32, iterations=2, backbone="random",
                      progress=False, style_blend=None)  # None: the field's default
    assert isinstance(img, torch.Tensor) and img.shape == (3, 32, 16)
