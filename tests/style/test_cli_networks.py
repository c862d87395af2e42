"""``ganstyle stylize --method fast|adain``: the CLI/API layer over the trained networks."""

import pytest
from PIL import Image

from ganstyle.cli import main
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
