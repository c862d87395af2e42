"""The style-method registry: a new method is one class plus one registry entry, and then runs
through ``train-style``, ``ganstyle.stylize`` and ``ganstyle stylize`` with generated flags."""

from __future__ import annotations

import csv
from dataclasses import dataclass

import pytest
import torch
from PIL import Image
from torch import nn

from ganstyle.cli import build_parser, main
from ganstyle.config import field
from ganstyle.io.images import load_image, save_image
from ganstyle.style.api import stylize
from ganstyle.style.methods import METHODS, trainable_methods
from ganstyle.style.methods.base import NetworkConfig, NetworkMethod, Stylized, TrainingObjective

from .conftest import make_content, make_style


@dataclass
class TintConfig(NetworkConfig):
    strength: float = field(1.0, help="how much of the learned tint to apply (0: none)")


class TintObjective(TrainingObjective):
    """A 1x1 convolution learns to give photos the style image's mean colour."""

    def __init__(self, cfg, backbone, device):
        self.net = nn.Conv2d(3, 3, 1)
        self.target = load_image(cfg.style).mean(dim=(1, 2)).to(device)

    def losses(self, content, style=None):
        loss = (self.net(content).mean(dim=(2, 3)) - self.target).pow(2).mean()
        return {"total": loss, "style": loss}

    def preview(self, content, style=None):
        return torch.stack([content, self.net(content).clamp(0, 1)], dim=1).flatten(0, 1).cpu()


class TintMethod(NetworkMethod):
    name = "tint"
    summary = "a learned colour tint (a registry test)"
    config_class = TintConfig
    needs_style = takes_style = False
    train_defaults = {"width": 1, "lr": 0.05, "style_weight": 1.0, "content_weight": 1.0, "tv_weight": 0.0,
                      "load_size": 0, "batch_size": 2, "steps": 40, "lr_decay": 0.0}

    def loss_layers(self, cfg, layer_names):
        return [], []

    def objective(self, cfg, backbone, device):
        return TintObjective(cfg, backbone, device)

    def build_net(self, cfg, encoder):
        return nn.Conv2d(3, 3, 1)

    def stylize(self, content, styles, config, *, alpha_mode="white", backbone_net=None, intermediate=None):
        image, alpha = self.load_content(content, styles, config, alpha_mode, 1)
        net = self.load(config.model).net
        with torch.no_grad():
            tinted = net(image[None])[0].clamp(0, 1)
        return Stylized(image + config.strength * (tinted - image), alpha)


@pytest.fixture()
def tint(monkeypatch):
    monkeypatch.setitem(METHODS, "tint", TintMethod())


def test_registered_method_trains_and_stylizes_through_api_and_cli(tint, tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    for i in range(2):
        save_image(make_content(32).roll(5 * i, -1), tmp_path / "photos" / f"p{i}.png")
    style = save_image(make_style(32), tmp_path / "style.png")
    assert "tint" in trainable_methods()
    model = tmp_path / "tint_model"
    assert main(["train-style", "--method", "tint", "--style", str(style), "--content-dir", str(tmp_path / "photos"),
                 "--out", str(model), "--backbone", "random", "--image-size", "16", "--device", "cpu",
                 "--log-every", "1", "--sample-every", "0", "--checkpoint-every", "0"]) == 0
    with open(model / "metrics.csv") as f:
        totals = [float(r["total"]) for r in csv.DictReader(f)]
    assert len(totals) == 40 and totals[-1] < 0.2 * totals[0]

    content = make_content(32)
    target = load_image(style).mean(dim=(1, 2))
    tinted = stylize(content, method="tint", model=str(model), device="cpu")
    half = stylize(content, method="tint", model=str(model), strength=0.5, device="cpu")
    err = lambda img: (img.mean(dim=(1, 2)) - target).abs().max()  # noqa: E731
    assert err(tinted) < 0.5 * err(content)
    assert err(tinted) < err(half) < err(content)

    out = tmp_path / "tinted.png"
    capsys.readouterr()
    assert main(["stylize", str(tmp_path / "photos" / "p0.png"), "--method", "tint", "--model", str(model),
                 "--strength", "0.5", "--out", str(out)]) == 0
    assert Image.open(out).size == (32, 32)
    assert main(["stylize", str(tmp_path / "photos" / "p0.png"), str(style), "--strength", "0.5",
                 "--out", str(tmp_path / "g.png")]) == 2
    assert "--strength: not used by --method gatys" in capsys.readouterr().err


def test_stylize_flags_are_generated_from_every_method_config():
    import dataclasses

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["stylize"]
    flags = {s for a in sub._actions for s in a.option_strings}
    for method in METHODS.values():
        for f in dataclasses.fields(method.config_class):
            assert "--" + f.name.replace("_", "-") in flags, (method.name, f.name)
    by_dest = {a.dest: a for a in sub._actions}
    from ganstyle.style.methods.gatys import GatysConfig
    from ganstyle.torch_utils import PRECISIONS

    lr_help = next(f for f in dataclasses.fields(GatysConfig) if f.name == "lr").metadata["help"]
    assert lr_help in by_dest["lr"].help  # the help text is the config's, not a copy
    assert tuple(by_dest["precision"].choices) == PRECISIONS and "(default: auto)" in by_dest["precision"].help
    assert "gatys 512" in by_dest["size"].help  # defaults that differ per method are listed per method
    assert tuple(by_dest["method"].choices) == tuple(METHODS)
