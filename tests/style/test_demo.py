import numpy as np
from PIL import Image

from ganstyle.style.demo import run_style_demo, swirl_painting


def test_swirl_painting_is_deterministic_and_colourful():
    a, b = swirl_painting(64, seed=3), swirl_painting(64, seed=3)
    assert a.shape == (3, 64, 64) and (a == b).all()
    assert not (a == swirl_painting(64, seed=4)).all()
    assert a[2].mean() > a[1].mean() * 0.8 and a.std() > 0.1  # blue-dominated, high contrast


def test_style_demo_quick_writes_images(tmp_path):
    paths = run_style_demo(tmp_path, seed=0, quick=True, size=48, iterations=5)
    assert set(paths) == {"style_content", "style_style", "style_result", "style_instant", "style_panel"}
    for p in paths.values():
        assert p.is_file()
    panel = np.asarray(Image.open(paths["style_panel"]))
    result = np.asarray(Image.open(paths["style_result"]))
    assert panel.shape[1] > 3 * result.shape[1] and result.std() > 10
    instant = np.asarray(Image.open(paths["style_instant"]))
    assert instant.shape == result.shape and instant.std() > 10
