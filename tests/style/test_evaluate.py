import json

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from ganstyle.cli import main
from ganstyle.style.evaluate import sliced_wasserstein, ssim, style_eval

from .conftest import make_content, make_style


@pytest.mark.parametrize("seed", [0, 1])
def test_ssim_matches_skimage(seed):
    rng = np.random.default_rng(seed)
    a = rng.random((40, 52))
    b = np.clip(a + rng.normal(0, 0.1 + 0.2 * seed, a.shape), 0, 1)
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    assert ssim(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(ref, abs=1e-6)
    assert ssim(torch.from_numpy(a), torch.from_numpy(a)) == pytest.approx(1.0)


def test_sliced_wasserstein():
    a = make_style(32).reshape(3, -1).T
    assert sliced_wasserstein(a, a) == 0.0
    assert sliced_wasserstein(a, a[torch.randperm(a.shape[0])]) < 1e-12
    # A constant shift t along every axis moves each projection by t * sum(direction).
    shifted = sliced_wasserstein(a, a + 0.1)
    g = torch.Generator().manual_seed(0)
    dirs = torch.randn(3, 64, generator=g, dtype=torch.float64)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)
    assert shifted == pytest.approx(0.1 * dirs.sum(0).abs().mean().item(), rel=1e-6)


def test_style_eval_identities(random_net):
    content, style = make_content(64), make_style(64)
    same = style_eval(content, content, style, backbone_net=random_net)
    assert same["content_loss"] == 0.0 and same["ssim"] == pytest.approx(1.0)
    as_style = style_eval(style, content, style, backbone_net=random_net)
    assert as_style["style_loss"] < 1e-10 and as_style["color_swd"] == 0.0
    assert as_style["content_loss"] > 0.1 and as_style["ssim"] < 0.5
    assert same["style_loss"] > 0.01 and same["color_swd"] > 0.05


def test_style_eval_cli_json(image_files, tmp_path, capsys):
    content, style = image_files
    out = tmp_path / "m.json"
    assert main(["style-eval", str(content), str(content), str(style), "--backbone", "random", "--json", str(out)]) == 0
    capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["backbone"] == "random" and data["ssim"] == pytest.approx(1.0)
    assert main(["style-eval", str(content), str(content), str(style), "--backbone", "random", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["content_loss"] == 0.0


def test_style_eval_takes_its_config_or_keywords(random_net):
    from ganstyle.errors import GanstyleError
    from ganstyle.style.evaluate import StyleEvalConfig

    content, style = make_content(48), make_style(48)
    by_config = style_eval(style, content, style, StyleEvalConfig(size=32), backbone_net=random_net)
    by_keyword = style_eval(style, content, style, size=32, backbone_net=random_net)
    assert by_config == by_keyword and by_config["width"] == 32
    with pytest.raises(GanstyleError, match="config must be a StyleEvalConfig"):
        style_eval(style, content, style, "random")
    with pytest.raises(GanstyleError, match="unknown setting"):
        style_eval(style, content, style, colour="red")
