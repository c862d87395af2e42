"""The MLP family's recipe on 2-D mixtures: defaults chosen by data, maxout D, LR decay, fp32."""

import math

import pytest
import torch

from ganstyle.gan.models import build_models, mlp
from ganstyle.gan.trainer import GANTrainer, TrainConfig, resolve_defaults


def test_point_data_gets_the_point_recipe_and_images_keep_theirs():
    pts = resolve_defaults(TrainConfig(data="ring8", model="mlp"))
    for key, value in mlp.POINT_DEFAULTS.items():
        assert getattr(pts, key) == value, key
    img = resolve_defaults(TrainConfig(data="digits", model="mlp"))
    assert (img.latent_dim, img.lr_decay, img.ema_decay) == (16, 0.0, 0.999)
    # an explicit flag still wins
    assert resolve_defaults(TrainConfig(data="ring8", model="mlp", latent_dim=5)).latent_dim == 5


def test_maxout_discriminator_and_data_scale():
    cfg = resolve_defaults(TrainConfig(data="grid25", model="mlp"))
    G, D = build_models(cfg, (2,), None)
    unit = D.body[0]
    assert isinstance(unit, mlp.Maxout)
    x = torch.randn(5, 2)
    pieces = unit.linear(x / D.scale).view(5, -1, unit.pieces)
    assert torch.equal(unit(x / D.scale), pieces.max(2).values)
    # grid25's per-coordinate std is sqrt(8): G and D work in units of it
    assert G.scale == D.scale == pytest.approx(math.sqrt(8))
    assert mlp.point_scale("ring8") == pytest.approx(math.sqrt(0.5))


def test_lr_decays_linearly_over_the_final_fraction(tmp_path):
    trainer = GANTrainer(TrainConfig(data="ring8", data_n=200, steps=100, lr_decay=0.4, g_lr=1e-3, d_lr=2e-3),
                         tmp_path / "run")
    seen = {}
    for step in (0, 59, 60, 80, 99):
        trainer.step = step
        trainer.set_learning_rates()
        seen[step] = (trainer.opt_G.param_groups[0]["lr"], trainer.opt_D.param_groups[0]["lr"])
    assert seen[0] == seen[59] == (1e-3, 2e-3)
    assert seen[80] == pytest.approx((0.5e-3, 1e-3))
    assert seen[99] == pytest.approx((1e-3 / 40, 2e-3 / 40))


def test_auto_precision_is_fp32_on_points(tmp_path, capsys):
    trainer = GANTrainer(TrainConfig(data="ring8", data_n=200, steps=1, precision="auto"), tmp_path / "run")
    assert trainer.precision == "fp32"
    assert "precision: auto -> fp32" in capsys.readouterr().out


def test_resume_inside_the_decay_window_is_bit_exact(tmp_path):
    from ganstyle.gan.trainer import train_gan
    from ganstyle.io.checkpoints import latest_checkpoint, load_checkpoint

    cfg = TrainConfig(data="ring8", data_n=500, g_width=16, d_width=16, steps=20, lr_decay=0.75, ckpt_every=10,
                      keep_checkpoints=0, sample_every=0, log_every=5, precision="fp32")
    run = train_gan(cfg, out=tmp_path / "run", progress=False)
    final = load_checkpoint(latest_checkpoint(run / "checkpoints"))[0]
    for f in (run / "checkpoints").glob("step_00000020.*"):  # as if stopped at step 10 of 20
        f.unlink()
    resumed = train_gan(resume=run, progress=False)
    again = load_checkpoint(latest_checkpoint(resumed / "checkpoints"))[0]
    assert all(torch.equal(final[k], again[k]) for k in final)


def test_one_joint_discriminator_pass_scores_like_two(tmp_path):
    trainer = GANTrainer(TrainConfig(data="grid25", data_n=300, steps=1, precision="fp32"), tmp_path / "run")
    assert trainer.D.per_sample
    real, _ = trainer.real_batch()
    fake = trainer.G(torch.randn(100, 2)).detach()
    joint = trainer.discriminate(real, None, fake, None)
    trainer.D.per_sample = False
    separate = trainer.discriminate(real, None, fake, None)
    torch.testing.assert_close(joint, separate, rtol=1e-5, atol=1e-5)
    # minibatch statistics make a logit depend on the rest of the batch: such a D is scored per batch
    mbstd = resolve_defaults(TrainConfig(data="grid25", model="mlp", mbstd_group=4))
    assert not build_models(mbstd, (2,), None)[1].per_sample


def test_steps_default_to_the_benchmarked_length_on_points_only():
    assert resolve_defaults(TrainConfig(data="grid25", model="mlp")).steps == mlp.POINT_DEFAULTS["steps"]
    assert resolve_defaults(TrainConfig(data="digits", model="mlp")).steps == 5000
    assert resolve_defaults(TrainConfig(data="ring8", model="mlp", steps=300)).steps == 300
