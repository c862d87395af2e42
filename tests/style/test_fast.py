"""Fast feed-forward style transfer: the network, tiled inference, training, resume, export, CLI."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from safetensors.torch import load_file

from ganstyle.cli import main
from ganstyle.io.images import save_image
from ganstyle.io.runlog import read_csv
from ganstyle.style.methods.fast import TransformNet, frozen_norm_stats, run_transform_net, stylize_fast
from ganstyle.style.tiling import measure_receptive_radius, tile_starts
from ganstyle.style.model import StyleTrainConfig
from ganstyle.style.train import train_style

CPU = torch.device("cpu")


def photo(name: str, size: int) -> torch.Tensor:
    """A photo bundled with scikit-image, centre-cropped and resized to size x size."""
    import skimage.data

    arr = torch.from_numpy(getattr(skimage.data, name)().copy()).permute(2, 0, 1).float() / 255
    s = min(arr.shape[-2:])
    arr = arr[:, :s, :s][None]
    return torch.nn.functional.interpolate(arr, size=(size, size), mode="area")[0]


def tiny_config(tmp, **kw) -> StyleTrainConfig:
    base = dict(method="fast", out=str(tmp / "model"), style=str(tmp / "style.png"), content_dir=str(tmp / "content"),
                backbone="random", steps=6, batch_size=2, image_size=32, style_size=48, width=8, res_blocks=1,
                log_every=1, sample_every=0, ckpt_every=0, device="cpu")
    base.update(kw)
    return StyleTrainConfig(**base)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fast_data")
    (tmp / "content").mkdir()
    for name in ("astronaut", "coffee", "chelsea"):
        save_image(photo(name, 40), tmp / "content" / f"{name}.png")
    save_image(photo("immunohistochemistry", 48), tmp / "style.png")
    return tmp


@pytest.fixture(scope="module")
def model_dir(data_dir):
    return train_style(tiny_config(data_dir, out=str(data_dir / "trained"), steps=4), progress=False)


def test_network_keeps_odd_sizes_and_starts_as_identity():
    net = TransformNet(width=4, res_blocks=1).eval()
    for h, w in ((37, 53), (101, 63), (8, 9)):
        x = torch.rand(1, 3, h, w) * 0.9 + 0.05
        with torch.no_grad():
            y = net(x)
        assert y.shape == (1, 3, h, w)
        torch.testing.assert_close(y, x, atol=1e-5, rtol=1e-5)


def test_resize_convolution_equals_upsample_then_conv():
    import torch.nn.functional as F

    from ganstyle.style.methods.fast import UpsampleConv

    up = UpsampleConv(6, 5)
    x = torch.randn(2, 6, 7, 10)
    naive = F.conv2d(F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), [1, 1, 1, 1], mode="reflect"),
                     up.weight, up.bias)
    torch.testing.assert_close(up(x, [14, 20]), naive, atol=1e-5, rtol=1e-5)
    # Odd targets: cropped (after a stride-2 conv) or extended by one edge pixel (after pooling).
    torch.testing.assert_close(up(x, [13, 19]), naive[..., :13, :19], atol=1e-5, rtol=1e-5)
    assert up(x, [15, 21]).shape == (2, 5, 15, 21)


def test_stylize_fast_output_has_input_size(model_dir):
    img = torch.rand(3, 37, 53)
    out = stylize_fast(img, model_dir, device="cpu")
    assert out.shape == (3, 37, 53)
    assert 0 <= float(out.min()) and float(out.max()) <= 1


@pytest.mark.parametrize("res_blocks", [1, 2])
def test_receptive_radius_formula_matches_gradients(res_blocks):
    net = TransformNet(width=4, res_blocks=res_blocks).eval()
    torch.nn.init.normal_(net.out.conv.weight, std=0.1)  # a new network starts as the identity
    with frozen_norm_stats(net, torch.rand(1, 3, 64, 64)):  # global statistics would couple every pixel
        assert measure_receptive_radius(net, size=128) == net.receptive_radius()


def test_tiled_inference_equals_untiled(model_dir):
    img = photo("coffee", 160)[:, :150, :101]
    whole = stylize_fast(img, model_dir, device="cpu", tile=0)
    tiled = stylize_fast(img, model_dir, device="cpu", tile=80)
    assert len(tile_starts(150, 80, 66, 4)) > 1 and len(tile_starts(101, 80, 66, 4)) > 1
    assert (tiled - whole).abs().max() < 1e-4  # equal: no seam anywhere


def test_automatic_tiling_from_memory_budget(model_dir, monkeypatch):
    import ganstyle.style.tiling as tiling
    from ganstyle.style.methods.fast import FAST

    net = FAST.load(model_dir).net
    img = photo("chelsea", 128)[None]
    whole = run_transform_net(net, img, CPU, tile=0)
    per_pixel = net.bytes_per_pixel()
    calls = []
    real = tiling.tiled_apply
    monkeypatch.setattr(tiling, "tiled_apply", lambda *a, **k: calls.append(k["tile"]) or real(*a, **k))
    fits = run_transform_net(net, img, CPU, budget=int(per_pixel * 130 * 130))
    assert calls == [] and torch.equal(fits, whole)
    # Room for ~96x96 px: tiled automatically; the normalisation statistics then come from
    # a downscaled copy, so the result is close to, not equal to, the whole-image one.
    auto = run_transform_net(net, img, CPU, budget=int(per_pixel * 96 * 96))
    assert calls == [96]
    assert auto.shape == whole.shape and (auto - whole).abs().mean() < 0.05


def test_short_training_lowers_loss(data_dir, backbone, tmp_path):
    single = tmp_path / "one"
    single.mkdir()
    save_image(photo("astronaut", 32), single / "a.png")
    cfg = tiny_config(data_dir, out=str(tmp_path / "m"), content_dir=str(single), steps=40, batch_size=1, lr=5e-3)
    out = train_style(cfg, backbone=backbone, progress=False)
    totals = [float(r["total"]) for r in read_csv(out / "metrics.csv")]
    assert len(totals) == 40
    assert sum(totals[-5:]) / 5 < 0.8 * sum(totals[:5]) / 5
    for name in ("config.toml", "final.safetensors", "final.json", "losses.png", "samples/step_00000040.png"):
        assert (out / name).exists(), name


def test_resume_equals_uninterrupted_run(data_dir, backbone, tmp_path):
    def run(out, steps, resume=False):
        cfg = tiny_config(data_dir, out=str(tmp_path / out), steps=steps, ckpt_every=3)
        return train_style(cfg, resume=tmp_path / out if resume else None, backbone=backbone, progress=False)

    straight = run("a", 6)
    run("b", 3)
    resumed = run("b", 6, resume=True)
    a, b = load_file(straight / "final.safetensors"), load_file(resumed / "final.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    rows_a, rows_b = read_csv(straight / "metrics.csv"), read_csv(resumed / "metrics.csv")
    assert [r["total"] for r in rows_a] == [r["total"] for r in rows_b]


def test_refuses_to_overwrite_a_model_without_resume(model_dir, capsys):
    cfg = tiny_config(model_dir.parent, out=str(model_dir))
    rc = main(["train-style", "--method", "fast", "--style", cfg.style, "--content-dir", cfg.content_dir,
               "--out", str(model_dir), "--backbone", "random"])
    assert rc == 2
    assert "--resume" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_torchscript_export_round_trip(model_dir, tmp_path, capsys):
    path = tmp_path / "net.pt"
    assert main(["export-style", str(model_dir), "--format", "torchscript", "--out", str(path)]) == 0
    loaded = torch.jit.load(str(path))
    img = torch.rand(3, 41, 67)
    expected = stylize_fast(img, model_dir, device="cpu", tile=0)
    with torch.no_grad():
        got = loaded(img[None])[0]
    assert got.shape == img.shape
    assert (got - expected).abs().max() < 1e-5


def test_onnx_export_matches_pytorch(model_dir, tmp_path):
    from ganstyle.style.export import export_style, missing_onnx_requirements, run_onnx

    missing = missing_onnx_requirements()
    if missing:
        pytest.skip(f"ONNX export needs {', '.join(missing)} (pip install 'ganstyle[onnx]')")
    path = export_style(model_dir, tmp_path / "net.onnx", "onnx", check=False)
    if importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("onnxruntime is not installed: exported, but cannot check its output")
    for h, w in ((45, 61), (50, 51), (64, 96)):  # any size, whatever the trace used
        img = torch.rand(3, h, w)
        expected = stylize_fast(img, model_dir, device="cpu", tile=0)
        got = torch.from_numpy(run_onnx(path, img[None]))[0]
        assert got.shape == img.shape
        assert (got - expected).abs().max() < 1e-4


def test_bf16_close_to_fp32(model_dir):
    img = photo("astronaut", 64)
    fp32 = stylize_fast(img, model_dir, device="cpu", tile=0)
    bf16 = stylize_fast(img, model_dir, device="cpu", precision="bf16", tile=0)
    assert bf16.dtype == torch.float32 and bf16.shape == fp32.shape
    assert (bf16 - fp32).abs().mean() < 0.02


def _one_line_error(capsys, argv, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err
    return err


def test_cli_errors_are_one_line(data_dir, tmp_path, capsys):
    _one_line_error(capsys, ["train-style", "--method", "fast", "--content-dir", str(data_dir / "content"),
                             "--out", str(tmp_path / "x")], "--style")
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line_error(capsys, ["train-style", "--method", "fast", "--style", str(data_dir / "style.png"),
                             "--content-dir", str(empty), "--out", str(tmp_path / "y"), "--backbone", "random"],
                    "--content-dir", "no images")
    _one_line_error(capsys, ["export-style", str(empty), "--out", str(tmp_path / "z.pt")], "config.toml")
    _one_line_error(capsys, ["export-style", str(tmp_path / "nowhere"), "--out", str(tmp_path / "z.pt")], "not found")
    _one_line_error(capsys, ["train-style", "--method", "fast", "--style", str(tmp_path / "missing.jpg"),
                             "--content-dir", str(data_dir / "content"), "--out", str(tmp_path / "w")], "missing.jpg")


def test_tile_too_small_is_a_user_error(model_dir):
    from ganstyle.errors import GanstyleError

    with pytest.raises(GanstyleError, match="--tile"):
        stylize_fast(torch.rand(3, 100, 100), model_dir, device="cpu", tile=20)
