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


def test_every_gan_part_announces_itself_and_shows_progress(tmp_path, capsys):
    run_gan_demo(tmp_path, seed=0, quick=True, progress=True)
    captured = capsys.readouterr()
    starts = [line for line in captured.out.splitlines() if line.startswith("demo: ")]
    assert starts == ["demo: GAN 1/2, conditional DCGAN on 16-px digits, 10 steps",
                      "demo: GAN 2/2, MLP GAN on the 8-Gaussian ring, 10 steps"]
    # the trainers' progress bars, each reaching its last step
    assert "dcgan on digits" in captured.err and "mlp on ring8" in captured.err
    assert captured.err.count("10/10") >= 2
