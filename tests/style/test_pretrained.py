"""The AdaIN model shipped in the package: loads offline, is what it says, stylises visibly."""

import re
from pathlib import Path

import pytest
import torch

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ganstyle.style import pretrained
from ganstyle.style.backbones import random_backbone

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_files_are_small_and_declared_as_package_data():
    stem = pretrained.shipped_model_stem()
    files = [stem.with_suffix(".safetensors"), stem.with_suffix(".json")]
    assert all(f.is_file() for f in files)
    assert sum(f.stat().st_size for f in files) <= 20 * 2**20
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = data["ganstyle.style.pretrained"]
    for f in files:
        assert any(Path(f.name).match(p) for p in patterns), f"{f.name} is not in the wheel's package-data"


def test_shipped_encoder_is_the_seeded_random_backbone():
    """The shipped encoder is the random backbone rebuilt from its seed (not a slice of a VGG file)."""
    model = pretrained.load_shipped_model("cpu")
    info = pretrained.shipped_model_info()["encoder"]
    rebuilt = random_backbone(info["seed"], pooling=info["pooling"], width=info["width"])
    shipped = model.encoder.state_dict()
    assert shipped and set(shipped) <= set(rebuilt.state_dict())
    for k, v in shipped.items():
        assert torch.allclose(v, rebuilt.state_dict()[k], rtol=1e-4, atol=1e-5), k
    x = torch.rand(1, 3, 40, 40)
    assert torch.allclose(model.encoder(x, ["relu4_1"])["relu4_1"], rebuilt(x, ["relu4_1"])["relu4_1"], atol=1e-4)
    assert pretrained.load_shipped_model("cpu") is model  # loaded once per process


def _stripes(color_a, color_b, size=(96, 128), period=8):
    img = torch.empty(3, *size)
    band = (torch.arange(size[1]) // period) % 2 == 0
    for c in range(3):
        img[c] = torch.where(band, color_a[c], color_b[c]).expand(size[0], -1)
    return img


def test_stylize_adain_without_model_uses_the_shipped_one(capsys):
    from ganstyle.style.api import stylize

    yy, xx = torch.meshgrid(torch.linspace(0, 1, 96), torch.linspace(0, 1, 128), indexing="ij")
    content = torch.stack([0.3 + 0.4 * xx, 0.3 + 0.4 * yy, 0.5 * torch.ones_like(xx)])  # a smooth, greyish photo
    style = _stripes((0.95, 0.1, 0.1), (0.95, 0.85, 0.1))  # saturated red/yellow stripes
    out = stylize(content, [style], method="adain")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.match(r"adain: using the model shipped with ganstyle", err[0])
    assert out.shape == content.shape
    # The style's colours arrive: the mean colour moves most of the way from the content's to the style's.
    d_before = (content.mean(dim=(1, 2)) - style.mean(dim=(1, 2))).norm()
    d_after = (out.mean(dim=(1, 2)) - style.mean(dim=(1, 2))).norm()
    assert d_after < 0.5 * d_before
    # Stylised but not the style image: the content's layout (its gradient) is still readable.
    assert torch.corrcoef(torch.stack([out.mean(0).flatten(), (xx + yy).flatten()]))[0, 1] > 0.3


def test_folder_of_photos_in_one_call(tmp_path, capsys):
    from ganstyle.cli import main
    from ganstyle.io.images import save_image

    photos = tmp_path / "photos"
    for i in range(2):
        save_image(torch.rand(3, 40, 56) * 0.5 + 0.25 * i, photos / f"p{i}.png")
    save_image(_stripes((0.1, 0.2, 0.9), (0.9, 0.9, 0.9), size=(48, 48)), tmp_path / "style.png")
    assert main(["stylize", str(photos), str(tmp_path / "style.png"), "--method", "adain",
                 "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("shipped with ganstyle") == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.png", "p1.png"]
    # Running again refuses to overwrite, naming the file, before any work.
    assert main(["stylize", str(photos), str(tmp_path / "style.png"), "--method", "adain",
                 "--out", str(tmp_path / "out")]) == 2
    assert "p0.png already exists" in capsys.readouterr().err


def test_alpha_zero_returns_the_photo_and_alpha_scales_the_change():
    """Residual decoding + colour matching, both scaled by alpha: 0 gives the photo back exactly."""
    from ganstyle.style.api import stylize

    info = pretrained.shipped_model_info()
    assert info["residual_decoding"] and info["match_style_colors"]
    g = torch.Generator().manual_seed(0)
    content = torch.rand(3, 64, 80, generator=g) * 0.6 + 0.2
    style = _stripes((0.9, 0.2, 0.1), (0.1, 0.3, 0.9), size=(64, 64))
    same = stylize(content, [style], method="adain", alpha=0.0)
    assert torch.allclose(same, content, atol=1e-5)
    half = stylize(content, [style], method="adain", alpha=0.5)
    full = stylize(content, [style], method="adain", alpha=1.0)
    assert 0 < (half - content).abs().mean() < (full - content).abs().mean()
