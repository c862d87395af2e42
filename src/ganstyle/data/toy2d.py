"""2-D Gaussian mixtures for mode-collapse experiments (PacGAN / VEEGAN protocol).

- ``ring8``: 8 modes at (cos 2πk/8, sin 2πk/8), k = 0..7, isotropic std 0.01.
- ``grid25``: 25 modes at {−4, −2, 0, 2, 4}², isotropic std 0.05.
"""

from __future__ import annotations

import math

import torch

from ganstyle.data import Dataset

TOY_STD = {"ring8": 0.01, "grid25": 0.05}


def toy_centers(name: str) -> torch.Tensor:
    """Mode centres, float64 (K, 2)."""
    if name == "ring8":
        k = torch.arange(8, dtype=torch.float64)
        return torch.stack([torch.cos(2 * math.pi * k / 8), torch.sin(2 * math.pi * k / 8)], dim=1)
    if name == "grid25":
        v = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0], dtype=torch.float64)
        return torch.cartesian_prod(v, v)
    raise ValueError(f"unknown toy mixture {name!r}")


def sample_toy2d(name: str, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` points (float32 (n, 2)) and their mode index (int64 (n,)), modes equally likely."""
    centers = toy_centers(name)
    mode = torch.randint(len(centers), (n,), generator=generator)
    noise = torch.randn(n, 2, generator=generator, dtype=torch.float64) * TOY_STD[name]
    return (centers[mode] + noise).float(), mode


def load_toy2d(name: str, n: int = 100_000, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    x, y = sample_toy2d(name, n, g)
    centers = toy_centers(name)
    return Dataset(name=name, x=x, y=y, num_classes=len(centers),
                   meta={"centers": centers, "std": TOY_STD[name]})
