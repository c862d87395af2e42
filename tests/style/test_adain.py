"""AdaIN arbitrary style transfer: feature statistics, style mixing, masks, colour, training, CLI."""

from __future__ import annotations

import pytest
import torch

from ganstyle.cli import main
from ganstyle.errors import GanstyleError
from ganstyle.io.images import save_image
from ganstyle.io.runlog import read_csv
from ganstyle.style.methods.adain import adain_target, content_statistics, feature_masks, masked_mean_std, stylize_adain
from ganstyle.style.color import match_color_histogram
from ganstyle.style.losses import mean_std
from ganstyle.style.methods.adain import ADAIN
from ganstyle.style.model import StyleTrainConfig
from ganstyle.style.train import train_style


def photo(name: str, size: int) -> torch.Tensor:
    import skimage.data

    arr = torch.from_numpy(getattr(skimage.data, name)().copy()).permute(2, 0, 1).float() / 255
    s = min(arr.shape[-2:])
    return torch.nn.functional.interpolate(arr[:, :s, :s][None], size=(size, size), mode="area")[0]


def tiny_config(tmp, **kw) -> StyleTrainConfig:
    base = dict(method="adain", out=str(tmp / "model"), content_dir=str(tmp / "content"), style_dir=str(tmp / "styles"),
                backbone="random", steps=4, batch_size=2, image_size=32, width=8, log_every=1, sample_every=0,
                ckpt_every=0, device="cpu")
    base.update(kw)
    return StyleTrainConfig(**base)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adain_data")
    (tmp / "content").mkdir()
    (tmp / "styles").mkdir()
    for name in ("astronaut", "chelsea"):
        save_image(photo(name, 40), tmp / "content" / f"{name}.png")
    for name in ("immunohistochemistry", "coffee"):
        save_image(photo(name, 40), tmp / "styles" / f"{name}.png")
    return tmp


@pytest.fixture(scope="module")
def model_dir(data_dir):
    return train_style(tiny_config(data_dir, out=str(data_dir / "trained")), progress=False)


@pytest.fixture(scope="module")
def encoder(model_dir):
    return ADAIN.load(model_dir).encoder


def relu4_1(encoder, img: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return encoder(img[None], ["relu4_1"])["relu4_1"]


def test_alpha_one_gives_style_statistics_alpha_zero_the_content(encoder):
    fc = relu4_1(encoder, photo("astronaut", 64))
    fs = relu4_1(encoder, photo("immunohistochemistry", 48))
    s_mean, s_std = mean_std(fs)
    c_mean, c_std = mean_std(fc)
    live = c_std.flatten() > 1e-2  # a channel that is flat on the content cannot take any std
    assert live.float().mean() > 0.5
    t_mean, t_std = mean_std(adain_target(fc, [(s_mean, s_std)], alpha=1.0))
    torch.testing.assert_close(t_mean, s_mean, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(t_std.flatten()[live], s_std.flatten()[live], atol=1e-3, rtol=1e-3)
    t0 = adain_target(fc, [(s_mean, s_std)], alpha=0.0)
    assert torch.equal(t0, fc)
    half = adain_target(fc, [(s_mean, s_std)], alpha=0.5)
    torch.testing.assert_close(half, 0.5 * fc + 0.5 * adain_target(fc, [(s_mean, s_std)]))


def test_masked_statistics_route_each_style_to_its_region():
    g = torch.Generator().manual_seed(0)
    fc = torch.randn(1, 16, 12, 10, generator=g) * 3 + 1
    styles = [(torch.randn(1, 16, 1, 1, generator=g), torch.rand(1, 16, 1, 1, generator=g) + 0.5) for _ in range(2)]
    left = torch.zeros(1, 1, 48, 40)
    left[..., :20] = 1
    masks = feature_masks(torch.cat([left, 1 - left], dim=1), (12, 10))
    t = adain_target(fc, styles, masks=masks)
    for i, (s_mean, s_std) in enumerate(styles):
        m_mean, m_std = masked_mean_std(t, masks[:, i:i + 1])
        torch.testing.assert_close(m_mean, s_mean, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(m_std, s_std, atol=1e-3, rtol=1e-3)
    # Content statistics are taken inside each region, not over the whole image.
    (cm0, _), (cm1, _) = content_statistics(fc, masks)
    torch.testing.assert_close(cm0, fc[..., :5].mean(dim=(2, 3), keepdim=True))
    torch.testing.assert_close(cm1, fc[..., 5:].mean(dim=(2, 3), keepdim=True))


class RecordingDecoder(torch.nn.Module):
    """Wraps the loaded decoder and keeps the features it was given (the AdaIN targets)."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder, self.inputs = decoder, []

    def forward(self, features, size):
        self.inputs.append(features.clone())
        return self.decoder(features, size)

    def bytes_per_pixel(self, bytes_per_value: int = 4) -> float:
        return self.decoder.bytes_per_pixel(bytes_per_value)


@pytest.fixture()
def recorder(model_dir, monkeypatch):
    model = ADAIN.load(model_dir)  # the cached instance stylize_adain will use
    rec = RecordingDecoder(model.net)
    monkeypatch.setattr(model, "net", rec)
    return rec


def test_weights_one_zero_equal_the_single_style(model_dir, recorder):
    content = photo("astronaut", 48)
    a, b = photo("immunohistochemistry", 40), photo("coffee", 40)
    single = stylize_adain(content, a, model_dir, device="cpu")
    mixed = stylize_adain(content, [a, b], model_dir, weights=[1, 0], device="cpu")
    torch.testing.assert_close(mixed, single)
    stylize_adain(content, b, model_dir, device="cpu")
    stylize_adain(content, [a, b], model_dir, weights=[1, 3], device="cpu")
    t_a, _, t_b, t_mix = recorder.inputs
    torch.testing.assert_close(t_mix, 0.25 * t_a + 0.75 * t_b)
    assert (t_a - t_b).abs().mean() > 1e-2


def test_masks_put_each_style_in_its_region(model_dir, encoder, recorder):
    content = photo("chelsea", 64)
    a, b = photo("immunohistochemistry", 40), photo("coffee", 40)
    left = torch.zeros(64, 64)
    left[:, :32] = 1
    out = stylize_adain(content, [a, b], model_dir, mask=[left, 1 - left], device="cpu")
    assert out.shape == content.shape
    (target,) = recorder.inputs
    masks = feature_masks(torch.stack([left, 1 - left])[None], target.shape[-2:])
    for i, style in enumerate((a, b)):
        s_mean, s_std = mean_std(relu4_1(encoder, style))
        m_mean, m_std = masked_mean_std(target, masks[:, i:i + 1])
        torch.testing.assert_close(m_mean, s_mean, atol=1e-4, rtol=1e-4)
        live = s_std.flatten() > 1e-2
        torch.testing.assert_close(m_std.flatten()[live], s_std.flatten()[live], atol=2e-3, rtol=2e-3)


def test_output_has_input_size_and_tiles_match(model_dir):
    content = photo("astronaut", 264)[:, :261, :237]
    style = photo("coffee", 40)
    whole = stylize_adain(content, style, model_dir, device="cpu", tile=0)
    assert whole.shape == (3, 261, 237)
    small = stylize_adain(content[:, :37, :53], style, model_dir, device="cpu")
    assert small.shape == (3, 37, 53)
    tiled = stylize_adain(content, style, model_dir, device="cpu", tile=220)
    assert (tiled - whole).abs().max() < 1e-4


def test_preserve_color_uses_the_recoloured_style(model_dir, encoder, recorder):
    content, style = photo("chelsea", 48), photo("immunohistochemistry", 40)
    stylize_adain(content, style, model_dir, device="cpu")
    stylize_adain(content, style, model_dir, device="cpu", preserve_color=True)
    plain, kept = recorder.inputs
    recoloured_mean, _ = mean_std(relu4_1(encoder, match_color_histogram(style, content)))
    plain_mean, _ = mean_std(relu4_1(encoder, style))
    torch.testing.assert_close(mean_std(kept)[0], recoloured_mean, atol=1e-4, rtol=1e-4)
    assert (recoloured_mean - plain_mean).abs().mean() > 1e-3
    assert (plain - kept).abs().mean() > 1e-3


def test_short_training_lowers_loss(backbone, tmp_path):
    (tmp_path / "content").mkdir()
    (tmp_path / "styles").mkdir()
    save_image(photo("astronaut", 32), tmp_path / "content" / "a.png")
    save_image(photo("immunohistochemistry", 32), tmp_path / "styles" / "s.png")
    cfg = tiny_config(tmp_path, steps=30, batch_size=1, lr=2e-3, load_size=32)
    out = train_style(cfg, backbone=backbone, progress=False)
    totals = [float(r["total"]) for r in read_csv(out / "metrics.csv")]
    assert len(totals) == 30
    assert sum(totals[-5:]) / 5 < 0.7 * sum(totals[:5]) / 5
    assert (out / "samples" / "step_00000030.png").exists() and (out / "losses.png").exists()


def test_user_errors(model_dir, data_dir, tmp_path, capsys):
    content, style = photo("chelsea", 32), photo("coffee", 32)
    with pytest.raises(GanstyleError, match="--alpha"):
        stylize_adain(content, style, model_dir, alpha=1.5, device="cpu")
    with pytest.raises(GanstyleError, match="--style-blend"):
        stylize_adain(content, [style, style], model_dir, weights=[1], device="cpu")
    with pytest.raises(GanstyleError, match="--mask"):
        stylize_adain(content, [style, style], model_dir, mask=[torch.ones(32, 32)], device="cpu")
    with pytest.raises(GanstyleError, match="method adain"):
        from ganstyle.style.methods.fast import stylize_fast

        stylize_fast(content, model_dir, device="cpu")
    assert main(["train-style", "--method", "adain", "--content-dir", str(data_dir / "content"),
                 "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--style-dir" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train-style", "--method", "adain", "--content-dir", str(data_dir / "content"),
                 "--style-dir", str(empty), "--out", str(tmp_path / "m"), "--backbone", "random"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--style-dir" in err and "no images" in err
