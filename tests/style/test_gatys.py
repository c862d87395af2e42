import pytest
import torch

from ganstyle.errors import GanstyleError
from ganstyle.style import color
from ganstyle.style.methods.gatys import GatysConfig, run_gatys, scale_sizes
from ganstyle.style.losses import gram_targets, style_loss

from .conftest import make_content, make_style

LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def base_config(**kw) -> GatysConfig:
    return GatysConfig(**{"size": 64, "iterations": 60, "backbone": "random", "device": "cpu",
                          "progress": False, **kw})


def measured_style_loss(net, image, style):
    """Plain (unnormalised) Gram loss, computed independently of the optimiser's bookkeeping."""
    with torch.no_grad():
        targets = gram_targets(net(style[None], LAYERS))
        return style_loss(net(image[None], LAYERS), targets).item()


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_gatys_lowers_style_loss_tenfold(random_net, optimizer):
    content, style = make_content(64), make_style(64)
    result = run_gatys(content, [style], base_config(iterations=100, optimizer=optimizer, style_weight=1e3),
                       backbone=random_net)
    before = measured_style_loss(random_net, content, style)
    after = measured_style_loss(random_net, result.image, style)
    assert before / after >= 10, (before, after)
    assert result.history[-1]["style"] < result.history[0]["style"] / 10
    assert result.image.shape == (3, 64, 64) and 0 <= result.image.min() and result.image.max() <= 1


def test_gatys_other_inits(random_net):
    content, style = make_content(48), make_style(48)
    for init in ("noise", "style"):
        r = run_gatys(content, [style], base_config(size=48, iterations=30, init=init), backbone=random_net)
        assert r.history[-1]["total"] < r.history[0]["total"]
    # Content alone, from noise: the features move towards the photo's.
    r = run_gatys(content, [style], base_config(size=48, iterations=30, init="noise", style_weight=0.0),
                  backbone=random_net)
    assert r.history[-1]["content"] < r.history[0]["content"] / 2


def test_multiscale_starts_fine_level_closer(random_net):
    content, style = make_content(96), make_style(96)
    single = run_gatys(content, [style], base_config(size=96, iterations=1), backbone=random_net)
    multi = run_gatys(content, [style], base_config(size=96, scales=2, scale_iterations=[40, 1]),
                      backbone=random_net)
    assert multi.sizes == [(48, 48), (96, 96)] and single.sizes == [(96, 96)]
    assert multi.image.shape == (3, 96, 96)
    fine_start = next(r for r in multi.history if r["scale"] == 1)
    assert fine_start["style"] < single.history[0]["style"] / 3


def test_scale_sizes_stop_at_32px():
    assert scale_sizes((100, 200), 4) == [(50, 100), (100, 200)]
    assert scale_sizes((256, 512), 3) == [(64, 128), (128, 256), (256, 512)]


@pytest.fixture(scope="module")
def plain_result(random_net):
    return run_gatys(make_content(48), [make_style(48)], base_config(size=48, iterations=30), backbone=random_net)


def test_luminance_preservation_keeps_content_chroma(random_net, plain_result):
    content, style = make_content(48), make_style(48)
    plain = plain_result
    kept = run_gatys(content, [style], base_config(size=48, iterations=30, preserve_color="luminance"),
                     backbone=random_net)
    chroma = lambda im: color.rgb_to_yiq(im)[1:]
    # Pixels that were not clipped back into [0, 1] carry exactly the content's I and Q.
    err_kept = (chroma(kept.image) - chroma(content)).abs().mean().item()
    err_plain = (chroma(plain.image) - chroma(content)).abs().mean().item()
    assert err_kept < 0.01 < err_plain
    # ...while the luminance did change: it is a style transfer, not a copy.
    assert (color.luminance(kept.image) - color.luminance(content)).abs().mean() > 0.02


def test_histogram_preservation_moves_colours_to_content(random_net, plain_result):
    content, style = make_content(48), make_style(48)
    plain = plain_result
    kept = run_gatys(content, [style], base_config(size=48, iterations=30, preserve_color="histogram"),
                     backbone=random_net)
    mean_rgb = lambda im: im.reshape(3, -1).mean(1)
    d_kept = (mean_rgb(kept.image) - mean_rgb(content)).norm()
    d_plain = (mean_rgb(plain.image) - mean_rgb(content)).norm()
    assert d_kept < d_plain / 2


def test_match_color_histogram_matches_moments():
    src, ref = make_style(32), make_content(32)
    out = color.match_color_histogram(src, ref)
    assert torch.allclose(out.reshape(3, -1).mean(1), ref.reshape(3, -1).mean(1), atol=0.02)
    assert torch.allclose(torch.cov(out.reshape(3, -1)), torch.cov(ref.reshape(3, -1)), atol=0.005)
    assert torch.allclose(color.yiq_to_rgb(color.rgb_to_yiq(src)), src, atol=1e-5)


def test_style_blend(random_net):
    content, a, b = make_content(32), make_style(32, seed=1), make_content(32).flip(-1).roll(7, -1) * 0.3 + 0.5
    cfg = base_config(size=32, iterations=25)
    only_a = run_gatys(content, [a], cfg, backbone=random_net)
    one_zero = run_gatys(content, [a, b], cfg, backbone=random_net, style_blend=[1.0, 0.0])
    assert torch.allclose(only_a.image, one_zero.image, atol=1e-4)
    only_b = run_gatys(content, [b], cfg, backbone=random_net)
    mixed = run_gatys(content, [a, b], cfg, backbone=random_net, style_blend=[0.5, 0.5])
    to_a = lambda im: measured_style_loss(random_net, im, a)
    to_b = lambda im: measured_style_loss(random_net, im, b)
    assert to_a(only_a.image) < to_a(mixed.image) < to_a(only_b.image)
    assert to_b(only_b.image) < to_b(mixed.image) < to_b(only_a.image)
    with pytest.raises(GanstyleError, match="style-blend"):
        run_gatys(content, [a, b], cfg, backbone=random_net, style_blend=[1.0])


def test_save_every_writes_intermediates(random_net, tmp_path):
    run_gatys(make_content(32), [make_style(32)], base_config(size=32, iterations=4, save_every=2),
              backbone=random_net, intermediate=tmp_path / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_s0_00002.png", "run_s0_00004.png"]
