"""Fixtures for the style tests: small synthetic images and a shared random backbone."""

from __future__ import annotations

import math

import pytest
import torch

from ganstyle.io.images import save_image


@pytest.fixture(autouse=True)
def auto_precision_is_fp32(monkeypatch):
    """``--precision auto`` (every style default) picks bf16 on CPUs with native bf16; the style
    tests compare numbers at fp32 tolerances, so they run as on a CPU without it, everywhere."""
    from ganstyle import torch_utils

    monkeypatch.setattr(torch_utils, "native_bf16", lambda device: False)


@pytest.fixture(scope="session")
def random_net():
    from ganstyle.style.backbones import random_backbone

    return random_backbone(seed=0, pooling="avg")


@pytest.fixture(scope="session")
def backbone():
    """The backbone the fast/AdaIN tests' tiny configs name (``random``, seed 0), built once;
    a trained model dir records its fingerprint, so every training run must use this one."""
    from ganstyle.style.backbones import build_backbone

    return build_backbone("random", seed=0, announce=False)


def make_content(size: int = 64) -> torch.Tensor:
    """A smooth 'photo': soft shapes on a gradient, in colour."""
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    r = 0.2 + 0.6 * x
    g = 0.3 + 0.4 * y
    b = 0.5 + 0.4 * torch.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / 0.05)
    img = torch.stack([r, g, b.clamp(0, 1)])
    img[:, size // 4 : size // 2, size // 4 : 3 * size // 4] *= 0.4
    return img.clamp(0, 1)


def make_style(size: int = 64, seed: int = 1) -> torch.Tensor:
    """A stripy, high-contrast 'painting' with colours unlike the content's."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    stripes = 0.5 + 0.5 * torch.sin(2 * math.pi * (6 * x + 3 * y) + 2 * torch.sin(8 * y))
    noise = torch.rand(1, size, size, generator=g) * 0.2
    img = torch.stack([0.9 * stripes, 0.2 + 0.5 * (1 - stripes), 0.1 * stripes]) + noise
    return img.clamp(0, 1)


@pytest.fixture()
def image_files(tmp_path):
    content = tmp_path / "content.png"
    style = tmp_path / "style.png"
    save_image(make_content(64), content)
    save_image(make_style(64), style)
    return content, style
