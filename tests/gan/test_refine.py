"""Discriminator-guided sampling on a known density ratio.

The "generator" draws x ~ U(0, 1) and the "discriminator" logit is log(x), i.e. the ratio
p_data/p_G = x: the target density is 2x on [0, 1] (mean 2/3). Exact rejection sampling then
accepts E[x / max x] = 1/2 of the proposals, and an independence MH chain started from the
target accepts E[min(1, x'/x)] = 2/3 of them. Latent Langevin is checked on a linear
generator and a linear logit, whose tilted latent density is again Gaussian.
"""

import math

import pytest
import torch

from ganstyle.errors import GanstyleError
from ganstyle.gan.refine import calibrate, drs_sample, latent_langevin, mh_sample


def _uniform_proposals(seed):
    g = torch.Generator().manual_seed(seed)
    return lambda k: torch.rand(k, 1, generator=g) * (1 - 1e-6) + 1e-6


def _log_ratio(x):
    return x[:, 0].log()


def _target(n, seed):  # density 2x on [0, 1]: inverse CDF sqrt(u)
    return torch.rand(n, 1, generator=torch.Generator().manual_seed(seed)).sqrt()


def test_drs_exact_rejection_matches_theory():
    out = drs_sample(_uniform_proposals(0), _log_ratio, 20_000, generator=torch.Generator().manual_seed(1),
                     burn_in=20_000)  # the default, gamma = 0
    assert out.acceptance == pytest.approx(0.5, abs=0.01)
    assert out.samples.shape == (20_000, 1)
    assert out.samples.mean().item() == pytest.approx(2 / 3, abs=0.01)


def test_drs_gamma_quantile_is_more_selective_than_exact():
    # here F(x) = logit(x), so gamma = its 95th percentile = logit(0.95) and a proposal is kept with
    # probability sigmoid(logit(x) - logit(0.95)); its mean over U(0, 1), by the midpoint rule:
    gamma = math.log(0.95 / 0.05)
    x = (torch.arange(100_000, dtype=torch.float64) + 0.5) / 100_000
    keep = torch.sigmoid(torch.log(x / (1 - x)) - gamma)
    expected_rate, expected_mean = keep.mean().item(), ((x * keep).sum() / keep.sum()).item()
    out = drs_sample(_uniform_proposals(0), _log_ratio, 5000, generator=torch.Generator().manual_seed(1), burn_in=50_000,
                     gamma_quantile=0.95)
    assert out.acceptance == pytest.approx(expected_rate, abs=0.01)
    assert out.samples.mean().item() == pytest.approx(expected_mean, abs=0.01)
    assert expected_mean > 2 / 3 + 0.1  # sharper than the target: fewer samples far from the modes


def test_mh_acceptance_and_stationary_mean():
    n = 20_000
    out = mh_sample(_uniform_proposals(0), _log_ratio, n, steps=5, generator=torch.Generator().manual_seed(2),
                    init=_target(n, 3))
    assert out.acceptance == pytest.approx(2 / 3, abs=0.01)
    assert out.samples.mean().item() == pytest.approx(2 / 3, abs=0.01)


def test_mh_from_generated_start_moves_towards_target():
    n = 20_000
    short = mh_sample(_uniform_proposals(0), _log_ratio, n, steps=1, generator=torch.Generator().manual_seed(2))
    long = mh_sample(_uniform_proposals(0), _log_ratio, n, steps=30, generator=torch.Generator().manual_seed(2))
    assert abs(long.samples.mean().item() - 2 / 3) < 0.01 < abs(short.samples.mean().item() - 2 / 3)


def test_calibration_recovers_a_known_logistic_model():
    # logits whose true class probability is sigmoid(2 * l - 0.5): calibration finds (2, -0.5)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(40_000, generator=g) * 2
    is_real = torch.rand(40_000, generator=g) < torch.sigmoid(2 * logits - 0.5)
    c = calibrate(logits[is_real], logits[~is_real])
    assert c.a == pytest.approx(2.0, abs=0.1)
    # class weighting moves the intercept by the log prior odds of the two groups
    prior = math.log(is_real.float().mean().item() / (1 - is_real.float().mean().item()))
    assert c.b == pytest.approx(-0.5 - prior, abs=0.1)


def test_latent_langevin_samples_the_tilted_latent_density():
    # G(z) = 2z and logit(x) = 0.5 x: p(z) ∝ N(z; 0, 1) exp(z) = N(z; 1, 1). Unadjusted Langevin with
    # step h on this Gaussian has mean 1 and variance 1 / (1 - h/4) at stationarity.
    G = torch.nn.Linear(1, 1)
    with torch.no_grad():
        G.weight.fill_(2.0)
        G.bias.zero_()
    G.requires_grad_(False)
    h, n = 0.05, 20_000
    z = torch.randn(n, 1, generator=torch.Generator().manual_seed(0))
    out = latent_langevin(G, lambda x: 0.5 * x[:, 0], z, steps=400, step_size=h,
                          generator=torch.Generator().manual_seed(1), batch_size=n)
    latents = out.samples[:, 0] / 2
    assert latents.mean().item() == pytest.approx(1.0, abs=0.03)
    assert latents.std().item() == pytest.approx((1 / (1 - h / 4)) ** 0.5, abs=0.02)
    assert out.latent_shift > 0.5 and out.proposals == n * 400


def test_latent_langevin_rejects_bad_settings():
    G = torch.nn.Linear(1, 1)
    with pytest.raises(GanstyleError, match="--refine-step-size: must be positive"):
        latent_langevin(G, lambda x: x[:, 0], torch.zeros(2, 1), steps=1, step_size=0.0, generator=torch.Generator())
    with pytest.raises(GanstyleError, match="--refine-steps: must be at least 1"):
        latent_langevin(G, lambda x: x[:, 0], torch.zeros(2, 1), steps=0, step_size=0.1, generator=torch.Generator())


def test_mh_rejects_zero_steps():
    with pytest.raises(GanstyleError, match="--refine-steps: must be at least 1"):
        mh_sample(_uniform_proposals(0), _log_ratio, 10, steps=0, generator=torch.Generator())


@pytest.mark.parametrize("method", ["drs", "mh", "langevin"])
def test_sample_cli_refines_a_trained_run(method, tiny_mlp_cfg, tmp_path, capsys):
    import numpy as np

    from ganstyle.cli import main
    from ganstyle.gan.trainer import train_gan

    run = train_gan(tiny_mlp_cfg, out=tmp_path / "run", progress=False)
    out = tmp_path / "pts.npz"
    # 20 steps leave G far from the data: exact DRS would reject nearly everything, so use the paper's shift
    extra = ["--drs-quantile", "0.95"] if method == "drs" else []
    assert main(["sample", str(run), "--n", "300", "--refine", method, "--refine-steps", "3", "--out", str(out)] + extra) == 0
    printed = capsys.readouterr().out
    assert f"refine {method}: " + ("3 latent Langevin steps per sample" if method == "langevin" else "accepted") in printed
    assert np.load(out)["points"].shape == (300, 2)


def test_exact_drs_explains_an_undertrained_generator(tiny_mlp_cfg, tmp_path):
    from ganstyle.gan.refine import refine_run
    from ganstyle.gan.trainer import train_gan

    run = train_gan(tiny_mlp_cfg, out=tmp_path / "run", progress=False)
    with pytest.raises(GanstyleError, match="exact rejection would keep about .*% of samples.*--drs-quantile 0.95"):
        refine_run(run, 300, "drs")


def test_refine_refuses_packed_discriminators(tiny_mlp_cfg, tmp_path):
    from ganstyle.gan.refine import refine_run
    from ganstyle.gan.trainer import TrainConfig, train_gan

    run = train_gan(TrainConfig(**{**vars(tiny_mlp_cfg), "pack": 2, "steps": 2}), out=tmp_path / "run", progress=False)
    with pytest.raises(GanstyleError, match="--pack 2, whose discriminator scores packs"):
        refine_run(run, 10, "drs")


def test_refine_names_a_discriminator_that_does_not_fit(tiny_mlp_cfg, tmp_path):
    from ganstyle.gan.refine import load_discriminator
    from ganstyle.gan.trainer import TrainConfig, train_gan
    from ganstyle.io.checkpoints import list_checkpoints

    run = train_gan(TrainConfig(**{**vars(tiny_mlp_cfg), "steps": 2}), out=tmp_path / "run", progress=False)
    stem = list_checkpoints(run / "checkpoints")[-1][1]
    other = TrainConfig(**{**vars(tiny_mlp_cfg), "d_width": 48})  # e.g. a run saved by an earlier model version
    with pytest.raises(GanstyleError, match=r"discriminator weights do not fit model 'mlp' \(Error"):
        load_discriminator(stem, other, (2,), None)
