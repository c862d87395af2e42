"""``ganstyle stylize --method fast|adain``: the CLI/API layer over the trained networks."""

import pytest
import torch
from PIL import Image

from ganstyle.cli import main
from ganstyle.errors import GanstyleError
from ganstyle.io.images import save_image
from ganstyle.style import color

from .conftest import make_content, make_style

from ganstyle.style import train
from ganstyle.style.model import StyleTrainConfig


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nets")
    (tmp / "content").mkdir()
    (tmp / "styles").mkdir()
    for i in range(2):
        save_image(make_content(40).roll(9 * i, -1), tmp / "content" / f"c{i}.png")
        save_image(make_style(40, seed=i), tmp / "styles" / f"s{i}.png")
    common = dict(backbone="random", steps=2, batch_size=2, image_size=32, width=8, log_every=1, sample_every=0,
                  ckpt_every=0, device="cpu", content_dir=str(tmp / "content"))
    fast = train.train_style(StyleTrainConfig(method="fast", out=str(tmp / "fast"), style=str(tmp / "styles" / "s0.png"),
                                                    style_size=48, res_blocks=1, **common), progress=False)
    adain = train.train_style(StyleTrainConfig(method="adain", out=str(tmp / "adain"), style_dir=str(tmp / "styles"),
                                                     **common), progress=False)
    return tmp, fast, adain


def test_fast_and_adain_through_the_cli(models, capsys):
    tmp, fast, adain = models
    content, style = tmp / "content" / "c0.png", tmp / "styles" / "s1.png"
    out = tmp / "fast.png"
    assert main(["stylize", str(content), "--method", "fast", "--model", str(fast), "--out", str(out)]) == 0
    assert Image.open(out).size == (40, 40)
    out = tmp / "adain.png"
    assert main(["stylize", str(content), str(style), "--method", "adain", "--model", str(adain), "--alpha", "0.5",
                 "--size", "48", "--out", str(out)]) == 0
    assert Image.open(out).size == (48, 48)
    assert main(["stylize", str(content), str(style), "--method", "fast", "--model", str(fast),
                 "--out", str(tmp / "x.png")]) == 2
    assert "give no style image" in capsys.readouterr().err


def test_luminance_preservation_for_networks(models):
    from ganstyle.style.api import stylize

    tmp, fast, adain = models
    content = make_content(40)
    for method, styles, model in (("fast", [], fast), ("adain", [make_style(40)], adain)):
        chroma_err = lambda out: (color.rgb_to_yiq(out)[1:] - color.rgb_to_yiq(content)[1:]).abs().mean()
        kept = stylize(content, styles, method=method, model=model, preserve_color="luminance", device="cpu")
        plain = stylize(content, styles, method=method, model=model, device="cpu")
        # Only pixels whose new luminance pushes them out of the RGB cube lose some chroma.
        assert chroma_err(kept) < 0.02 and chroma_err(kept) < chroma_err(plain) / 3, method


def small_memory(monkeypatch, mib: int) -> None:
    from ganstyle import torch_utils

    monkeypatch.setattr(torch_utils, "available_memory", lambda device, unknown=0: mib << 20)


@pytest.mark.parametrize("method", ["fast", "adain"])
def test_memory_guard_refuses_before_decoding_the_content(models, monkeypatch, method):
    from ganstyle.style.api import stylize
    from ganstyle.style.methods import base

    tmp, fast, adain = models

    def must_not_load(*a, **k):
        raise AssertionError("the content was decoded at the requested size")

    monkeypatch.setattr(base, "load_content", must_not_load)
    small_memory(monkeypatch, 64)
    styles = [tmp / "styles" / "s1.png"] if method == "adain" else []
    with pytest.raises(GanstyleError, match=r"--size: a 4000x4000 output needs about 1\.0 GiB .* more than half of the 0\.1 GiB available"):
        stylize(tmp / "content" / "c0.png", styles, method=method, model=str(fast if method == "fast" else adain),
                size=4000, device="cpu")


def test_memory_guard_tiles_what_fits_in_tiles(models, monkeypatch):
    from ganstyle.style.api import stylize
    from ganstyle.style.methods.fast import TransformNet

    tmp, fast, _ = models
    content = make_content(64)
    whole = stylize(content, method="fast", model=str(fast), size=256, device="cpu", tile=0)
    seen = []
    forward = TransformNet.forward

    def recording(self, x):
        seen.append(tuple(x.shape[-2:]))
        return forward(self, x)

    monkeypatch.setattr(TransformNet, "forward", recording)
    small_memory(monkeypatch, 16)  # the 256 px image fits, the network's activations on it do not
    tiled = stylize(content, method="fast", model=str(fast), size=256, device="cpu")
    assert len(seen) > 2 and max(max(hw) for hw in seen) < 256
    # Instance-norm statistics then come from a downscaled copy: close to, not equal to, the whole image's.
    assert tiled.shape == whole.shape and (tiled - whole).abs().mean() < 5e-3
