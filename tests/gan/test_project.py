"""GAN inversion: a sample drawn from the generator itself must be reconstructed."""

import numpy as np
import pytest
import torch

from ganstyle.cli import main
from ganstyle.errors import GanstyleError
from ganstyle.gan.project import latent_space, project, read_latent, render
from ganstyle.gan.sampling import load_generator
from ganstyle.gan.trainer import TrainConfig, train_gan


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    base = dict(data="digits", data_n=128, latent_dim=8, g_width=8, d_width=8, batch_size=16, steps=4, log_every=2,
                sample_every=0, ckpt_every=0, device="cpu", precision="fp32")
    return {m: train_gan(TrainConfig(model=m, **base), out=root / m, progress=False) for m in ("dcgan", "stylegan-lite")}


@pytest.mark.parametrize("model, space", [("dcgan", "z"), ("stylegan-lite", "w")])
def test_projection_recovers_a_generated_image(runs, model, space):
    g = load_generator(runs[model])
    G = g.generator
    assert latent_space(G) == space
    with torch.no_grad():
        z = torch.randn(1, G.latent_dim, generator=torch.Generator().manual_seed(123))
        latent = G.map(z) if space == "w" else z
        target = render(G, latent, space)[0]
    # the error of the best random start, i.e. before any optimisation
    start = project(g, target, steps=1, lr=0.0, feature_weight=0.0)
    result = project(g, target, steps=150, lr=0.05, feature_weight=0.0)
    assert result.space == space and result.latent.shape == latent.shape
    assert result.mse < 0.1 * start.mse
    assert result.mse < 2e-3
    assert result.losses[-1] < result.losses[0]


def test_feature_loss_uses_the_given_extractor(runs):
    g = load_generator(runs["dcgan"])
    calls = []
    conv = torch.nn.Conv2d(1, 4, 3)

    def extractor(x):
        calls.append(x.shape)
        return conv(x).flatten(1)

    target = g.generate(1, seed=5)[0]
    result = project(g, target, steps=5, feature_weight=1.0, extractor=extractor)
    assert calls and calls[0][1:] == (1, 8, 8)
    assert len(result.frames) == 5  # at most one frame per step


def test_cli_project_then_interpolate(runs, tmp_path, capsys):
    from ganstyle.io.images import save_image

    g = load_generator(runs["dcgan"])
    paths = []
    for i, seed in enumerate((1, 2)):
        img = tmp_path / f"t{i}.png"
        save_image(g.generate(1, seed=seed)[0], img, value_range=(-1.0, 1.0))
        out = tmp_path / f"proj{i}"
        argv = ["project", str(runs["dcgan"]), str(img), "--out", str(out), "--steps", "20", "--feature-weight", "0"]
        assert main(argv) == 0
        assert {p.name for p in out.iterdir()} == {"reconstruction.png", "latent.npz", "progress.png"}
        latent, space = read_latent(out / "latent.npz")
        assert space == "z" and latent.shape == (1, 8)
        paths.append(out / "latent.npz")
    assert main(argv) == 2  # the folder already holds a projection
    assert "already holds latent.npz; give --overwrite" in capsys.readouterr().err
    grid = tmp_path / "path.png"
    assert main(["sample", str(runs["dcgan"]), "--interpolate-from", str(paths[0]), "--to", str(paths[1]),
                 "--interpolate", "5", "--out", str(grid)]) == 0
    assert grid.is_file()


def test_interpolation_refuses_a_latent_of_another_space(runs, tmp_path):
    from ganstyle.gan.project import interpolate_latents

    bad = tmp_path / "w.npz"
    np.savez(bad, w=np.zeros((1, 8), np.float32))
    with pytest.raises(GanstyleError, match="a w-latent of size 8, but this run needs a z-latent"):
        interpolate_latents(runs["dcgan"], bad, bad, 4)
