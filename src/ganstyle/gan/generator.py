"""A trained generator, loaded: latents, truncation, interpolation paths and batched generation.

    g = load_generator("runs/digits")                # newest checkpoint of a run
    x = g.generate(1000, seed=0)                     # (1000, C, H, W) in [-1, 1], CPU float32

The commands built on it (:mod:`ganstyle.gan.sampling`, :mod:`ganstyle.gan.refine`,
:mod:`ganstyle.gan.project`) import it; it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganstyle.errors import GanstyleError


# ------------------------------------------------------------------ latents


def sample_latents(G: nn.Module, n: int, generator: torch.Generator, device: torch.device | str = "cpu",
                   truncation: float | None = None) -> torch.Tensor:
    """``n`` standard normal latents; with ``truncation`` and a G that truncates in latent
    space, values beyond ±truncation are redrawn (the truncation trick of Brock et al., 2019)."""
    z = torch.randn(n, G.latent_dim, generator=generator)
    if truncation is not None and getattr(G, "truncation", None) == "latent":
        if truncation <= 0:
            raise GanstyleError(f"--truncation: {truncation} must be positive")
        for _ in range(1000):
            bad = z.abs() > truncation
            if not bad.any():
                break
            z[bad] = torch.randn(int(bad.sum()), generator=generator)
    return z.to(device)


def check_truncation(G: nn.Module, truncation: float | None, model_name: str = "") -> None:
    if truncation is not None and getattr(G, "truncation", None) is None:
        name = f"model {model_name!r}" if model_name else "this model"
        raise GanstyleError(f"--truncation: {name} does not support truncation; leave the flag out")


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between rows of ``a`` and ``b`` (keeps Gaussian latents on the
    shell where the generator saw them); ``t`` has shape (K,) and the result (N, K, D)."""
    a_n, b_n = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(1).clamp(-1, 1))[:, None, None]
    so = torch.sin(omega)
    t = t[None, :, None]
    lin = (1 - t) * a[:, None] + t * b[:, None]
    sph = (torch.sin((1 - t) * omega) * a[:, None] + torch.sin(t * omega) * b[:, None]) / so.clamp_min(1e-7)
    return torch.where(so.abs() < 1e-6, lin, sph)


@torch.no_grad()
def generate_from(G: nn.Module, n: int, *, seed: int = 0, batch_size: int = 256, truncation: float | None = None,
                  labels: torch.Tensor | int | None = None, device: torch.device | str = "cpu",
                  z: torch.Tensor | None = None) -> torch.Tensor:
    """Samples from ``G`` in data space, float32 on CPU. Deterministic for a given seed."""
    gen = torch.Generator().manual_seed(seed)
    was_training = G.training
    G.eval()
    try:
        if z is None:
            z = sample_latents(G, n, gen, "cpu", truncation)
        y = None
        if getattr(G, "num_classes", None):
            if labels is None:
                y = torch.randint(G.num_classes, (n,), generator=gen)
            else:
                y = torch.as_tensor(labels, dtype=torch.long).expand(n) if torch.as_tensor(labels).dim() == 0 \
                    else torch.as_tensor(labels, dtype=torch.long)
                if y.shape[0] != n or int(y.min()) < 0 or int(y.max()) >= G.num_classes:
                    raise GanstyleError(f"--class: need {n} labels in 0 to {G.num_classes - 1}")
        elif labels is not None:
            raise GanstyleError("--class: this generator is not class-conditional (trained without --conditional)")
        kw = {"truncation": truncation} if truncation is not None and getattr(G, "truncation", None) == "forward" else {}
        out = []
        for i in range(0, n, batch_size):
            zi = z[i:i + batch_size].to(device)
            yi = y[i:i + batch_size].to(device) if y is not None else None
            out.append(G(zi, yi, **kw).float().cpu())
        return torch.cat(out) if out else torch.empty(0)
    finally:
        G.train(was_training)


# ------------------------------------------------------------------ loading


@dataclass
class LoadedGenerator:
    generator: nn.Module
    config: object
    step: int
    latent_dim: int
    num_classes: int | None
    data_shape: tuple[int, ...]
    device: torch.device
    checkpoint: Path

    def generate(self, n: int, seed: int = 0, batch_size: int = 256, truncation: float | None = None,
                 labels=None) -> torch.Tensor:
        check_truncation(self.generator, truncation, getattr(self.config, "model", ""))
        return generate_from(self.generator, n, seed=seed, batch_size=batch_size, truncation=truncation,
                             labels=labels, device=self.device)


# What a checkpoint must hold to give a generator back.
GENERATOR_ENTRIES = ("step", "model", "config")


def read_checkpoint(path: str | Path) -> tuple[Path, dict[str, torch.Tensor], dict]:
    """``(stem, tensors, state)`` for a run dir (its newest checkpoint that verifies), its
    ``checkpoints/`` folder, or a checkpoint stem/file."""
    from ganstyle.io.checkpoints import load_checkpoint, load_newest_checkpoint

    p = Path(path)
    if p.is_dir():
        for folder in (p / "checkpoints", p):
            found = load_newest_checkpoint(folder, require=GENERATOR_ENTRIES)
            if found is not None:
                return found
        raise GanstyleError(f"{p}: no checkpoint found (expected {p / 'checkpoints'}/step_XXXXXXXX.json)")
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    if p.with_suffix(".json").exists():
        return (p, *load_checkpoint(p, require=GENERATOR_ENTRIES))
    raise GanstyleError(f"{path}: not a run directory or checkpoint")


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> LoadedGenerator:
    """Load the averaged (EMA) generator of a run directory or checkpoint, in eval mode."""
    from ganstyle.config import from_dict
    from ganstyle.gan.models import build_generator
    from ganstyle.gan.config import TrainConfig
    from ganstyle.io.checkpoints import sub_state_dict
    from ganstyle.torch_utils import resolve_device

    stem, tensors, state = read_checkpoint(path)
    try:
        cfg = from_dict(TrainConfig, {k: v for k, v in state["config"].items() if v is not None}, source=str(stem))
        info = state["model"]
        data_shape = tuple(int(n) for n in info["data_shape"])
        num_classes, latent_dim = info["num_classes"], int(info["latent_dim"])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a JSON edited or written by something else
        raise GanstyleError(f"{stem}.json: not a ganstyle GAN checkpoint (bad 'config' or 'model' entry: "
                            f"{type(exc).__name__} {exc})") from None
    device = resolve_device(str(device))
    G = build_generator(cfg, data_shape, num_classes)
    weights = sub_state_dict(tensors, "G_ema") or sub_state_dict(tensors, "G")
    try:
        G.load_state_dict(weights)
    except RuntimeError as exc:
        raise GanstyleError(f"{stem}: weights do not fit model {cfg.model!r} ({str(exc).splitlines()[0]})") from None
    G = G.to(device).eval().requires_grad_(False)
    return LoadedGenerator(G, cfg, state["step"], latent_dim, num_classes, data_shape, device, stem)
