"""Spectral norm, R1/R2 (lazy), DiffAugment, minibatch stddev, PacGAN, EMA start, self-attention."""

import math

import pytest
import torch
from torch import nn

from ganstyle.errors import GanstyleError
from ganstyle.gan.augment import DiffAugment, color, cutout, translation
from ganstyle.gan.layers import (
    MinibatchStdDev, PackedDiscriminator, SelfAttention, largest_singular_value, sn,
)
from ganstyle.gan.regularizers import r1_penalty, r2_penalty, zero_centred_penalties
from ganstyle.gan.trainer import GANTrainer, TrainConfig, train_gan
from ganstyle.io.checkpoints import latest_checkpoint, load_checkpoint
from ganstyle.io.runlog import read_csv


# ------------------------------------------------------------------ spectral norm


@pytest.mark.parametrize("make_layer", [lambda: nn.Linear(24, 40), lambda: nn.Conv2d(6, 10, 3)])
def test_spectral_norm_makes_largest_singular_value_one(make_layer):
    torch.manual_seed(0)
    layer = make_layer()  # built after seeding: some initial weights need more than 30 power iterations
    with torch.no_grad():
        layer.weight.mul_(7.0)  # far from 1 before normalisation
    assert largest_singular_value(layer.weight) > 3
    m = sn(layer)
    x = torch.randn(4, 24) if isinstance(layer, nn.Linear) else torch.randn(4, 6, 8, 8)
    for _ in range(30):  # one power iteration per training-mode forward
        m(x)
    m.eval()
    assert largest_singular_value(m.weight) == pytest.approx(1.0, abs=2e-3)


def test_spectral_norm_vectors_are_checkpointed_and_averaged(tmp_path):
    cfg = TrainConfig(data="digits", image_size=16, data_n=128, model="sagan", attn_res=8, latent_dim=8, g_width=4,
                      d_width=4, batch_size=16, steps=3, log_every=3, sample_every=0, ckpt_every=3, device="cpu")
    trainer = GANTrainer(cfg, tmp_path / "run")
    trainer.train(progress=False)
    tensors, _ = load_checkpoint(latest_checkpoint(tmp_path / "run" / "checkpoints"))
    u_keys = [k for k in tensors if k.endswith("._u")]
    assert any(k.startswith("D.") for k in u_keys) and any(k.startswith("G_ema.") for k in u_keys)
    # the EMA generator carries the generator's power-iteration state, not its stale initial one
    g_u = dict(trainer.G.named_buffers())
    for name, buf in trainer.G_ema.model.named_buffers():
        if name.endswith("._u"):
            assert torch.equal(buf, g_u[name])


# ------------------------------------------------------------------ R1 / R2


class Quadratic(nn.Module):
    """D(x) = Σ a·x² + b·x, whose input gradient 2a·x + b is known in closed form."""

    def __init__(self, dim: int):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.a = nn.Parameter(torch.randn(dim, generator=g))
        self.b = nn.Parameter(torch.randn(dim, generator=g))

    def forward(self, x, y=None):
        x = x.flatten(1)
        return (self.a * x * x + self.b * x).sum(1)


def test_r1_and_r2_equal_hand_computed_gradient_norms():
    D = Quadratic(12)
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    by_hand = lambda x: (2 * D.a * x.flatten(1) + D.b).pow(2).sum(1).mean()  # noqa: E731
    assert r1_penalty(D, real).item() == pytest.approx(by_hand(real).item(), rel=1e-5)
    assert r2_penalty(D, fake).item() == pytest.approx(by_hand(fake).item(), rel=1e-5)
    # the penalty is differentiable w.r.t. D's weights (double backward)
    r1_penalty(D, real).backward()
    assert D.a.grad is not None and D.a.grad.abs().sum() > 0


def test_lazy_regularisation_runs_every_k_steps_scaled_by_k():
    D = Quadratic(4)
    real, fake = torch.randn(3, 4), torch.randn(3, 4)
    r1 = r1_penalty(D, real).item()
    for d_iter in range(7):
        terms = zero_centred_penalties(D, real, fake, None, None, r1_gamma=2.0, r2_gamma=0.0, every=3, d_iter=d_iter)
        if d_iter % 3:
            assert terms == []
        else:
            assert sum(terms).item() == pytest.approx(0.5 * 2.0 * 3 * r1, rel=1e-5)


def test_lazy_r1_in_training_logs_penalty(tmp_path):
    cfg = TrainConfig(data="ring8", data_n=1000, model="mlp", latent_dim=4, g_width=16, d_width=16, depth=1,
                      batch_size=32, steps=8, log_every=1, sample_every=0, ckpt_every=0, device="cpu",
                      r1_gamma=1.0, r2_gamma=0.5, reg_every=4)
    train_gan(cfg, out=tmp_path / "run", progress=False)
    reg = [float(r["d_reg"]) for r in read_csv(tmp_path / "run" / "metrics.csv")]
    assert [i for i, v in enumerate(reg) if v > 0] == [0, 4]


# ------------------------------------------------------------------ DiffAugment


def test_diffaugment_keeps_shapes_and_is_differentiable():
    x = torch.randn(6, 3, 16, 16, requires_grad=True)
    aug = DiffAugment("color,translation,cutout", torch.Generator().manual_seed(0))
    y = aug(x)
    assert y.shape == x.shape
    (y * torch.randn_like(y)).sum().backward()
    assert torch.isfinite(x.grad).all() and (x.grad != 0).float().mean() > 0.3
    # same generator state -> same transform (exact resume relies on it)
    a = DiffAugment("color,translation,cutout", torch.Generator().manual_seed(5))(x.detach())
    b = DiffAugment("color,translation,cutout", torch.Generator().manual_seed(5))(x.detach())
    assert torch.equal(a, b)


def test_translation_moves_content_by_at_most_an_eighth():
    x = torch.zeros(32, 1, 16, 16)
    x[:, 0, 8, 8] = 1.0
    y = translation(x, torch.Generator().manual_seed(1))
    assert (y.sum(dim=(1, 2, 3)) == 1).all()  # a pixel 8 from the border is never shifted out
    pos = y[:, 0].flatten(1).argmax(1)
    dy, dx = pos // 16 - 8, pos % 16 - 8
    assert dy.abs().max() <= 2 and dx.abs().max() <= 2 and (dy != 0).any() and (dx != 0).any()


def test_cutout_zeroes_at_most_a_quarter_and_color_changes_statistics():
    x = torch.ones(64, 1, 16, 16)
    y = cutout(x, torch.Generator().manual_seed(2))
    zeroed = (y == 0).float().mean(dim=(1, 2, 3))
    assert zeroed.max() <= 0.25 + 1e-6 and zeroed.min() > 0 and (zeroed == 0.25).any()
    c = color(torch.zeros(64, 3, 4, 4), torch.Generator().manual_seed(3))
    assert c.mean(dim=(1, 2, 3)).std() > 0.1  # brightness varies per image


def test_diffaugment_in_training_and_bad_policy(tmp_path):
    cfg = TrainConfig(data="digits", image_size=16, data_n=128, model="dcgan", latent_dim=8, g_width=4, d_width=4,
                      batch_size=16, steps=2, log_every=1, sample_every=0, ckpt_every=0, device="cpu",
                      diffaugment="translation,cutout")
    trainer = GANTrainer(cfg, tmp_path / "run")
    trainer.train(progress=False)
    assert trainer.augment.names == ["translation", "cutout"]
    with pytest.raises(GanstyleError, match="--diffaugment: unknown policy flip"):
        GANTrainer(TrainConfig(**{**vars(cfg), "diffaugment": "color,flip"}), tmp_path / "bad")


# ------------------------------------------------------------------ layers and tricks


def test_minibatch_stddev_sees_batch_variety():
    layer = MinibatchStdDev(4)
    same = torch.randn(1, 3, 4, 4).expand(8, -1, -1, -1)
    varied = torch.randn(8, 3, 4, 4)
    a, b = layer(same), layer(varied)
    assert a.shape == (8, 4, 4, 4)
    assert a[:, 3].max() < 1e-3 and b[:, 3].min() > 0.3
    assert layer(torch.randn(6, 3, 4, 4)).shape == (6, 4, 4, 4)  # falls back to a group size dividing the batch


def test_self_attention_starts_as_identity():
    attn = SelfAttention(16)
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(attn(x), x)
    with torch.no_grad():
        attn.gamma.fill_(1.0)
    assert not torch.allclose(attn(x), x)


def test_pacgan_packs_samples(tmp_path):
    inner = nn.Sequential(nn.Flatten(), nn.Linear(6, 1))
    D = PackedDiscriminator(lambda x, y=None: inner(x).squeeze(1), 3)
    x = torch.randn(9, 2)
    assert D(x).shape == (3,)
    assert torch.allclose(D(x)[1], inner(x[3:6].reshape(1, 6)).squeeze())
    cfg = TrainConfig(data="ring8", data_n=1000, model="mlp", latent_dim=4, g_width=16, d_width=16, depth=1,
                      batch_size=32, steps=3, log_every=1, sample_every=0, ckpt_every=0, device="cpu", pack=4)
    trainer = GANTrainer(cfg, tmp_path / "run")
    assert trainer.D.inner.body[0].in_features == 8
    trainer.train(progress=False)
    with pytest.raises(GanstyleError, match="--pack 3: --batch-size 32 must be a multiple"):
        GANTrainer(TrainConfig(**{**vars(cfg), "pack": 3}), tmp_path / "bad")


def test_ema_start_copies_weights_until_then(tmp_path):
    cfg = TrainConfig(data="ring8", data_n=1000, model="mlp", latent_dim=4, g_width=16, d_width=16, depth=1,
                      batch_size=32, steps=3, log_every=1, sample_every=0, ckpt_every=0, device="cpu",
                      ema_decay=0.99, ema_start=4)
    trainer = GANTrainer(cfg, tmp_path / "run")
    trainer.train(progress=False)
    same = all(torch.equal(a, b) for a, b in zip(trainer.G.parameters(), trainer.G_ema.model.parameters()))
    assert same  # steps 1..3 copy G
    trainer.cfg.steps = 4
    trainer.train(progress=False)  # step 4 averages with decay min(0.99, 5/14)
    assert not all(torch.equal(a, b) for a, b in zip(trainer.G.parameters(), trainer.G_ema.model.parameters()))


def test_label_smoothing_is_one_sided():
    from ganstyle.gan.losses import get_loss

    loss = get_loss("ns", label_smoothing=0.1)
    zero = torch.zeros(4)
    # real target 0.9: the loss at logit 0 is log 2 either way, but its minimum moves to logit log(9)
    assert loss.d_loss(zero, torch.full((4,), -50.0)).item() == pytest.approx(math.log(2), rel=1e-4)
    l9 = torch.full((4,), math.log(9.0), requires_grad=True)
    loss.d_loss(l9, torch.full((4,), -50.0)).backward()
    assert l9.grad.abs().max() < 1e-6
