"""Failure modes of discriminator-guided sampling, inversion and the 2-D recipe flags: one row each."""

import pytest
import torch

from ganstyle.cli import main

# (argv with {run} = a trained 2-D run, {tmp} = a scratch folder, {img} = an image; exit code; message fragment)
ROWS = [
    (["project", "{tmp}/missing", "{img}", "--out", "{tmp}/p"], 2, "not a run directory or checkpoint"),
    (["project", "{run}", "{img}", "--out", "{tmp}/p"], 2, "project: needs an image model"),
    (["project", "{run}", "{img}", "--out", "{img}"], 2, "is a file; give a folder"),
    (["sample", "{run}", "--interpolate-from", "{tmp}/a.npz", "--to", "{tmp}/a.npz"], 2, "a.npz: no such latent file"),
    (["sample", "{run}", "--interpolate-from", "{tmp}/a.npz"], 2, "--interpolate-from and --to: give both"),
    (["sample", "{run}", "--refine", "mh", "--refine-steps", "0", "--out", "{tmp}/x.npz"], 2,
     "--refine-steps: must be at least 1"),
    (["sample", "{run}", "--refine", "langevin", "--refine-step-size", "0", "--out", "{tmp}/x.npz"], 2,
     "--refine-step-size: must be greater than 0, got 0.0"),
    (["sample", "{run}", "--refine", "drs", "--truncation", "0.5", "--out", "{tmp}/x.npz"], 2,
     "--refine: does not combine with --truncation"),
    (["train", "--data", "ring8", "--lr-decay", "1.5", "--out", "{tmp}/r"], 2, "--lr-decay: must be at least 0 and at most 1, got 1.5"),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from ganstyle.gan.trainer import TrainConfig, train_gan

    return train_gan(TrainConfig(data="ring8", data_n=500, g_width=16, d_width=16, steps=2, sample_every=0,
                                 ckpt_every=0, precision="fp32"), out=tmp_path_factory.mktemp("r") / "run", progress=False)


@pytest.mark.parametrize("argv, code, fragment", ROWS, ids=[" ".join(r[0][:3]) for r in ROWS])
def test_failure_mode(argv, code, fragment, run, tmp_path, capsys):
    from ganstyle.io.images import save_image

    img = tmp_path / "img.png"
    save_image(torch.zeros(1, 8, 8), img)
    argv = [a.format(run=run, tmp=tmp_path, img=img) for a in argv]
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err
