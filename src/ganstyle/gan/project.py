"""GAN inversion: find the latent whose image best reproduces a target image.

    result = project("runs/digits", "seven.png")         # Projection(latent, space, reconstruction, ...)
    write_projection(result, "proj/")                    # reconstruction.png, latent.npz, progress.png
    images = interpolate_latents("runs/digits", "a.npz", "b.npz", 8)

The latent is optimised with Adam against pixel MSE plus a feature loss under the run's
extractor (ganstyle's domain classifier for 1-channel digit-like data, Inception otherwise;
see :mod:`ganstyle.metrics.extractors`). Style-based generators (``stylegan-lite``) are
inverted in W, one ``w`` shared by every layer and started from the mean ``w`` as in
NVIDIA's StyleGAN2 projector; other families in ``z``, started from the best of a few
random draws. ``latent.npz`` holds the latent under the key ``z`` or ``w``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganstyle.errors import GanstyleError

PROGRESS_FRAMES = 8


@dataclass
class Projection:
    latent: torch.Tensor  # (1, latent_dim) in z or (1, w_dim) in W
    space: str  # "z" or "w"
    target: torch.Tensor  # (C, H, W) in [-1, 1]
    reconstruction: torch.Tensor  # (C, H, W) in [-1, 1]
    mse: float  # pixel MSE of the reconstruction, images in [-1, 1]
    frames: list[torch.Tensor] = field(default_factory=list)  # reconstructions during the optimisation
    losses: list[float] = field(default_factory=list)


def latent_space(G) -> str:
    return "w" if hasattr(G, "synthesis") and hasattr(G, "map") else "z"


def render(G, latent: torch.Tensor, space: str) -> torch.Tensor:
    """Images for a batch of latents of the given space (with gradients)."""
    if space == "w":
        return G.synthesis(latent[:, None].expand(-1, G.num_ws, -1))
    return G(latent, None)


def _feature_fn(extractor):
    if extractor is None:
        return None
    fn = extractor.fn if hasattr(extractor, "fn") else extractor
    if isinstance(fn, torch.nn.Module):
        fn.eval().requires_grad_(False)

    def features(x: torch.Tensor) -> torch.Tensor:
        out = fn(x)
        f = (out[0] if isinstance(out, tuple) else out).flatten(1)
        return f / (f.norm(dim=1, keepdim=True) + 1e-8)  # compare directions: scale-free across extractors

    return features


def run_extractor(cfg, channels: int, name: str = "auto"):
    """The run's feature extractor (as used for its metrics), for the feature loss."""
    from ganstyle.metrics.extractors import get_extractor

    return get_extractor(name, dataset_name=cfg.data.split(":")[0], channels=channels, download=False)


def project(source, target, *, steps: int = 200, lr: float = 0.05, feature_weight: float = 1.0, extractor="auto",
            starts: int = 16, seed: int = 0, device: str = "cpu") -> Projection:
    """Optimise a latent so that the run's generator reproduces ``target``.

    ``target``: an image path or a (C, H, W) tensor in [-1, 1] of the run's image shape.
    ``extractor``: ``auto``/``classifier``/``inception``, an extractor or callable, or ``None``
    (pixels only; also used when ``feature_weight`` is 0).
    """
    from ganstyle.gan.generator import LoadedGenerator, load_generator

    g = source if isinstance(source, LoadedGenerator) else load_generator(source, device)
    if len(g.data_shape) != 3:
        raise GanstyleError("project: needs an image model (this run generates 2-D points)")
    if g.num_classes:
        raise GanstyleError("project: class-conditional runs are not supported")
    if steps < 1:
        raise GanstyleError(f"--steps: must be at least 1, got {steps}")
    c, h, w = g.data_shape
    target = _load_target(target, (c, h, w)).to(g.device)
    G = g.generator.eval().requires_grad_(False)
    features = None
    if feature_weight and extractor is not None:
        ext = run_extractor(g.config, c, extractor) if isinstance(extractor, str) else extractor
        features = _feature_fn(ext)
    with torch.no_grad():
        target_feat = features(target[None]) if features else None
    space = latent_space(G)
    gen = torch.Generator().manual_seed(seed)

    def loss_of(images: torch.Tensor) -> torch.Tensor:
        loss = (images.float() - target).pow(2).flatten(1).mean(1)
        if features is not None:
            loss = loss + feature_weight * (features(images.float()) - target_feat).pow(2).sum(1)
        return loss

    with torch.no_grad():
        if space == "w":
            # the mean w over many mapped latents, NVIDIA's starting point
            latent = G.map(torch.randn(1000, G.latent_dim, generator=gen).to(g.device)).mean(0, keepdim=True)
        else:
            candidates = torch.randn(starts, G.latent_dim, generator=gen).to(g.device)
            latent = candidates[int(loss_of(render(G, candidates, space)).argmin())][None]
    latent = latent.clone().requires_grad_(True)
    opt = torch.optim.Adam([latent], lr=lr)
    frames, losses = [], []
    snap = {int(round(i * (steps - 1) / (PROGRESS_FRAMES - 1))) for i in range(PROGRESS_FRAMES)}
    for step in range(steps):
        # cosine decay of the step size settles the latent at the end
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * step / steps))
        images = render(G, latent, space)
        loss = loss_of(images).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if step in snap:
            frames.append(images.detach()[0].float().cpu())
    with torch.no_grad():
        recon = render(G, latent, space)[0].float()
    mse = float((recon - target).pow(2).mean())
    return Projection(latent.detach().cpu(), space, target.cpu(), recon.cpu(), mse, frames, losses)


def _load_target(target, shape: tuple[int, int, int]) -> torch.Tensor:
    c, h, w = shape
    if isinstance(target, torch.Tensor):
        if tuple(target.shape) != shape:
            raise GanstyleError(f"project: target has shape {tuple(target.shape)}, the run generates {shape}")
        return target.float()
    from ganstyle.io.images import load_image

    if h != w:
        raise GanstyleError(f"project: the run generates {h}x{w} images; only square images are supported")
    return load_image(target, h, channels=c) * 2 - 1  # [0, 1] -> the generator's [-1, 1]


def write_projection(result: Projection, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``reconstruction.png``, ``latent.npz`` and ``progress.png`` (target, then the
    reconstruction as the optimisation went on) into the folder ``out``."""
    from ganstyle.io.images import atomic_path, save_grid, save_image

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise GanstyleError(f"--out {out}: is a file; give a folder for the projection")
    names = ("reconstruction.png", "latent.npz", "progress.png")
    existing = [n for n in names if (out / n).exists()]
    if existing and not overwrite:
        raise GanstyleError(f"--out {out}: already holds {existing[0]}; give --overwrite to replace it")
    out.mkdir(parents=True, exist_ok=True)
    upscale = max(1, 64 // result.target.shape[-1])
    save_image(result.reconstruction, out / "reconstruction.png", value_range=(-1.0, 1.0))
    with atomic_path(out / "latent.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **{result.space: result.latent.numpy().astype(np.float32)}, mse=np.float32(result.mse))
    strip = torch.stack([result.target] + result.frames)
    save_grid(strip, out / "progress.png", nrow=len(strip), upscale=upscale)
    return out


def read_latent(path: str | Path) -> tuple[torch.Tensor, str]:
    """A latent written by :func:`write_projection`: (tensor (1, D), space)."""
    p = Path(path)
    if not p.is_file():
        raise GanstyleError(f"{path}: no such latent file")
    try:
        data = np.load(p)
    except (OSError, ValueError) as exc:
        raise GanstyleError(f"{path}: not a .npz latent file ({exc})") from None
    for space in ("w", "z"):
        if space in data.files:
            return torch.from_numpy(np.asarray(data[space], np.float32)).reshape(1, -1), space
    raise GanstyleError(f"{path}: holds no latent (expected an array 'z' or 'w', as written by ganstyle project)")


@torch.no_grad()
def interpolate_latents(source, start: str | Path, end: str | Path, k: int = 8, device: str = "cpu") -> torch.Tensor:
    """``k`` images along the path between two projected latents (slerp in z, straight in W)."""
    from ganstyle.gan.generator import LoadedGenerator, load_generator, slerp

    if k < 2:
        raise GanstyleError(f"--interpolate {k}: need at least 2 images per row")
    g = source if isinstance(source, LoadedGenerator) else load_generator(source, device)
    (a, space_a), (b, space_b) = read_latent(start), read_latent(end)
    space = latent_space(g.generator)
    for path, s, v in ((start, space_a, a), (end, space_b, b)):
        if s != space or v.shape[1] != (g.generator.latent_dim):
            raise GanstyleError(f"{path}: a {s}-latent of size {v.shape[1]}, but this run needs a {space}-latent "
                                f"of size {g.generator.latent_dim}")
    t = torch.linspace(0, 1, k)
    path = slerp(a, b, t)[0] if space == "z" else torch.lerp(a, b, t[:, None])
    return render(g.generator.eval(), path.to(g.device), space).float().cpu()


def project_error_on(source, images: torch.Tensor, **kw) -> list[float]:
    """Reconstruction MSE of each of ``images`` (N, C, H, W in [-1, 1]); for benchmarks."""
    return [project(source, img, **kw).mse for img in images]

