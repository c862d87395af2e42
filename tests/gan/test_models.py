import types

import pytest
import torch
from torch import nn

from ganstyle.errors import GanstyleError
from ganstyle.gan import models
from ganstyle.gan.trainer import GANTrainer, TrainConfig, resolve_defaults


@pytest.mark.parametrize("size", [16, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes(size, channels):
    cfg = resolve_defaults(TrainConfig(model="dcgan", latent_dim=8, g_width=8, d_width=8))
    G, D = models.build_models(cfg, (channels, size, size), None)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (3,)


def test_dcgan_conditional_uses_labels():
    cfg = resolve_defaults(TrainConfig(model="dcgan", latent_dim=8, g_width=8, d_width=8))
    G, D = models.build_models(cfg, (1, 16, 16), 10)
    z = torch.randn(2, 8).repeat(2, 1)
    y = torch.tensor([0, 0, 5, 5])
    G.eval()
    x = G(z, y)
    assert not torch.allclose(x[0], x[2])
    assert D(x, y).shape == (4,)


def test_dcgan_rejects_points_and_odd_sizes():
    cfg = resolve_defaults(TrainConfig(model="dcgan"))
    with pytest.raises(GanstyleError, match="image data"):
        models.build_models(cfg, (2,), None)
    with pytest.raises(GanstyleError, match="image-size 30"):
        models.build_models(cfg, (1, 30, 30), None)


def test_mlp_points_and_images():
    cfg = resolve_defaults(TrainConfig(model="mlp"))
    G, D = models.build_models(cfg, (2,), None)
    assert G(torch.randn(5, cfg.latent_dim)).shape == (5, 2)
    G, D = models.build_models(cfg, (1, 8, 8), None)
    x = G(torch.randn(5, cfg.latent_dim))
    assert x.shape == (5, 1, 8, 8) and x.abs().max() <= 1
    assert D(x).shape == (5,)


def test_unknown_model_names_choices():
    with pytest.raises(GanstyleError, match="unknown model 'nope'.*dcgan"):
        models.model_family("nope")


def test_registry_accepts_a_new_family(monkeypatch, tiny_mlp_cfg, tmp_path):
    """A new model family is a module with two builders (and optional DEFAULTS)."""

    class LinearG(nn.Module):
        truncation = None

        def __init__(self, latent_dim, dim):
            super().__init__()
            self.latent_dim, self.num_classes = latent_dim, None
            self.net = nn.Linear(latent_dim, dim)

        def forward(self, z, y=None):
            return self.net(z)

    class LinearD(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.net = nn.Linear(dim, 1)

        def forward(self, x, y=None):
            return self.net(x).squeeze(1)

    fam = types.ModuleType("linear_family")
    fam.DEFAULTS = {"latent_dim": 3}
    fam.make_generator = lambda cfg, shape, nc: LinearG(cfg.latent_dim, shape[0])
    fam.make_discriminator = lambda cfg, shape, nc: LinearD(shape[0])
    monkeypatch.setattr(models, "MODELS", dict(models.MODELS))
    monkeypatch.setattr(models, "_LOADED", dict(models._LOADED))
    models.register_model("linear", fam)
    cfg = TrainConfig(**{**vars(tiny_mlp_cfg), "model": "linear", "latent_dim": None})
    trainer = GANTrainer(cfg, tmp_path)
    assert trainer.cfg.latent_dim == 3
    assert isinstance(trainer.G, LinearG)
    trainer.train(progress=False)
    assert trainer.step == cfg.steps
