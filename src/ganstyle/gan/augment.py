"""Differentiable augmentation (DiffAugment; Zhao, Liu, Lin, Zhu & Han, NeurIPS 2020).

The same random transforms are applied to real *and* generated images before the
discriminator sees them (in the D update and in the G update), so D cannot memorise a
small training set, while gradients still flow through the transform to G. Three
policies, as in the paper:

- ``color``: brightness shift in [-0.5, 0.5], saturation scale in [0, 2], contrast scale
  in [0.5, 1.5] (per image, on data in [-1, 1]);
- ``translation``: integer shifts of up to 1/8 of the side, zero (mid-grey) padding;
- ``cutout``: one zeroed square of half the side at a random position.

All randomness comes from an explicit ``torch.Generator`` (the trainer's noise stream),
so an augmented run still resumes bit-exactly.
"""

from __future__ import annotations

from typing import Callable

import torch

from ganstyle.errors import GanstyleError


def _rand(n: int, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype, generator=generator)


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    n = x.shape[0]
    x = x + (_rand(n, x, generator) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(n, x, generator) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(n, x, generator) + 0.5) + mean


def translation(x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.125) -> torch.Tensor:
    n, c, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if sh == 0 and sw == 0:
        return x
    dy = torch.randint(-sh, sh + 1, (n, 1), device=x.device, generator=generator)
    dx = torch.randint(-sw, sw + 1, (n, 1), device=x.device, generator=generator)
    padded = torch.nn.functional.pad(x, (sw, sw, sh, sh))
    rows = torch.arange(h, device=x.device)[None] + sh - dy  # (n, h) rows read from the padded image
    cols = torch.arange(w, device=x.device)[None] + sw - dx
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (n, h, w, c)
    return out.permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.5) -> torch.Tensor:
    n, c, h, w = x.shape
    ch, cw = max(int(h * ratio + 0.5), 1), max(int(w * ratio + 0.5), 1)
    # centre of the hole anywhere on the image; the hole may stick out over the border
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device, generator=generator)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device, generator=generator)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    oy, ox = ys - cy + ch // 2, xs - cx + cw // 2  # position inside the hole
    hole = (oy >= 0) & (oy < ch) & (ox >= 0) & (ox < cw)
    return x * (~hole)[:, None].to(x.dtype)


POLICIES: dict[str, Callable] = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(spec: str) -> list[str]:
    names = [s.strip().lower() for s in (spec or "").split(",") if s.strip()]
    bad = [s for s in names if s not in POLICIES]
    if bad:
        raise GanstyleError(f"--diffaugment: unknown policy {', '.join(bad)}; use a comma list of {', '.join(POLICIES)}")
    return names


class DiffAugment:
    """``augment(x)`` applies the policies in order; a no-op when the policy is empty."""

    def __init__(self, policy: str | list[str], generator: torch.Generator | None = None):
        self.names = parse_policy(policy) if isinstance(policy, str) else list(policy)
        self.generator = generator

    def __bool__(self) -> bool:
        return bool(self.names)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise GanstyleError("--diffaugment works on images; leave it out for 2-D data")
        for name in self.names:
            x = POLICIES[name](x, self.generator)
        return x
