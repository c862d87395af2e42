from PIL import Image

from ganstyle.gan.demo import run_gan_demo


def test_quick_demo_writes_its_outputs(tmp_path):
    outputs = run_gan_demo(tmp_path, seed=0, quick=True)
    assert set(outputs) == {"gan_digits_samples", "gan_digits_losses", "gan_ring8_scatter", "gan_ring8_losses"}
    w, h = Image.open(outputs["gan_digits_samples"]).size
    assert w == h == 2 + 10 * (64 + 2)  # 100 digits of 16 px, shown 4x
    for path in outputs.values():
        assert path.is_file() and path.stat().st_size > 1000
    # running it again replaces the demo's own runs instead of refusing
    assert run_gan_demo(tmp_path, seed=1, quick=True).keys() == outputs.keys()
