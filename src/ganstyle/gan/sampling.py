"""Load a trained generator and draw samples: grids, image folders, ``.npz``, scatter plots,
latent interpolations.

    g = load_generator("runs/digits")                # newest checkpoint of a run
    x = g.generate(1000, seed=0)                     # (1000, C, H, W) in [-1, 1], CPU float32
    sample("runs/ring8", n=2500, out="pts.npz")      # 2-D data: points + a scatter plot
    sample("runs/cond", SampleConfig(per_class=8, out="classes.png"))

``ganstyle sample`` is generated from :class:`SampleConfig`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganstyle.config import field, validate
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


# ------------------------------------------------------------------ writing


def save_points_plot(points: torch.Tensor, path: str | Path, *, real: torch.Tensor | None = None,
                     centers=None, title: str = "") -> Path:
    """Scatter plot of 2-D samples (over real data in grey, when given); atomic PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganstyle.io.images import atomic_path

    pts = points.detach().float().cpu().numpy()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=110)
    if real is not None:
        r = real.detach().float().cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=2, c="0.75", alpha=0.5, label="data", rasterized=True)
    ax.scatter(pts[:, 0], pts[:, 1], s=3, c="tab:blue", alpha=0.6, label="generated", rasterized=True)
    if centers is not None:
        c = np.asarray(centers)
        ax.scatter(c[:, 0], c[:, 1], s=30, marker="x", c="tab:red", label="modes")
    ref = r if real is not None else pts
    finite = ref[np.isfinite(ref).all(1)]
    if len(finite):
        lo, hi = finite.min(0), finite.max(0)
        pad = 0.15 * max(float((hi - lo).max()), 1e-3)
        ax.set_xlim(lo[0] - pad, hi[0] + pad)
        ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def _save_npz(path: Path, samples: torch.Tensor, labels: torch.Tensor | None) -> Path:
    from ganstyle.io.images import atomic_path, to_uint8

    arrays = {}
    if samples.dim() == 4:
        # uint8 NHWC, the layout FID tools read from .npz sample files
        arrays["images"] = np.stack([to_uint8(img, (-1.0, 1.0)) for img in samples])
    else:
        arrays["points"] = samples.numpy().astype(np.float32)
    if labels is not None:
        arrays["labels"] = labels.numpy()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return path


@dataclass
class SampleConfig:
    """Settings of :func:`sample` and ``ganstyle sample`` (one flag per field)."""

    n: int = field(64, ge=1, help="number of samples")
    out: str = field("samples.png", help="grid .png/.jpg (2-D data: scatter plot), samples .npz, or a folder (one PNG per image)")
    seed: int = field(0, help="random seed")
    truncation: float | None = field(None, gt=0, help="truncation threshold/psi, where the model supports it")
    interpolate: int = field(0, ge=0, help="rows of K images interpolating between random latents (slerp); 0 = off")
    labels: int | None = field(None, ge=0, flag="class", aliases=("label",),
                               help="class to draw (class-conditional models)")
    per_class: int = field(0, ge=0, help="K samples of every class, one grid row per class (class-conditional models)")
    nrow: int | None = field(None, ge=1, help="images per grid row (default: a square grid)")
    device: str = field("auto", help="auto, cpu, cuda or cuda:N")
    batch_size: int = field(256, ge=1, help="samples per forward pass")
    overwrite: bool = field(False, help="replace an existing --out file (never one of the inputs)")
    refine: str | None = field(None, choices=("drs", "mh"), help="correct samples with the run's discriminator: "
                               "rejection sampling (drs) or Metropolis-Hastings (mh)")
    refine_steps: int | None = field(None, ge=1, help="--refine mh: proposals per chain (default: 20)")
    drs_quantile: float | None = field(None, gt=0, lt=1, help="--refine drs: shift gamma to this quantile of F (the "
                                       "paper's 0.95; keeps fewer, higher-scoring samples) instead of exact rejection")
    interpolate_from: str | None = field(None, help="a latent .npz written by 'ganstyle project': draw the path from it "
                                         "to --to (K = --interpolate, default 8)")
    interpolate_to: str | None = field(None, flag="to", help="end latent .npz for --interpolate-from")


def sample(source, config: SampleConfig | None = None, **overrides) -> Path:
    """Draw samples from a run/checkpoint (or a :class:`LoadedGenerator`) and write them; returns the output.

    ``config`` (default :class:`SampleConfig`) with any of its fields given as keywords on top,
    e.g. ``sample(run, n=100, out="x.npz")``. ``out`` decides the form: ``*.png``/``*.jpg`` a
    grid (2-D data: a scatter plot), ``*.npz`` an array file (``images`` uint8 NHWC or
    ``points`` float32), a folder one PNG per image (2-D data: ``points.npz`` + ``scatter.png``).
    ``interpolate=K`` makes rows of K images along great circles between random latent
    endpoints. ``per_class=K`` (class-conditional models) draws K samples of every class.
    ``refine="drs"|"mh"`` corrects the samples with the run's discriminator
    (:mod:`ganstyle.gan.refine`; ``refine_steps``: MH chain length). ``interpolate_from`` and
    ``interpolate_to`` (latent ``.npz`` files from ``ganstyle project``) draw one row of
    ``interpolate`` (default 8) images between them.
    """
    from ganstyle.io.outputs import check_output

    cfg = validate(dataclasses.replace(config or SampleConfig(), **overrides))
    out = Path(cfg.out)
    suffix = out.suffix.lower()
    is_dir = suffix == "" or str(cfg.out).endswith(("/", "\\")) or out.is_dir()
    if not is_dir and suffix not in (".png", ".jpg", ".jpeg", ".npz"):
        raise GanstyleError(f"--out {out}: use a .png/.jpg grid, a .npz file or a folder")
    g = source if isinstance(source, LoadedGenerator) else load_generator(source, cfg.device)
    inputs = [g.checkpoint.with_suffix(".json"), g.checkpoint.with_suffix(".safetensors")]
    check_output(cfg.out, overwrite=cfg.overwrite, inputs=inputs, folder=is_dir)
    n, nrow, labels = cfg.n, cfg.nrow, cfg.labels
    if labels is not None and g.num_classes and labels >= g.num_classes:
        raise GanstyleError(f"--class {labels}: this model has classes 0 to {g.num_classes - 1}")
    if cfg.per_class:
        if not g.num_classes:
            raise GanstyleError("--per-class: this generator is not class-conditional (train with --conditional)")
        if cfg.interpolate or labels is not None:
            raise GanstyleError("--per-class K replaces --n, --class and --interpolate; give only one of them")
        labels = torch.arange(g.num_classes).repeat_interleave(cfg.per_class)
        n, nrow = len(labels), cfg.per_class
    points = len(g.data_shape) == 1
    y = None
    if cfg.interpolate_from or cfg.interpolate_to:
        from ganstyle.gan.project import interpolate_latents

        if not (cfg.interpolate_from and cfg.interpolate_to):
            raise GanstyleError("--interpolate-from and --to: give both latent files")
        samples = interpolate_latents(g, cfg.interpolate_from, cfg.interpolate_to, cfg.interpolate or 8)
        nrow = samples.shape[0]
    elif cfg.interpolate:
        if points:
            raise GanstyleError("--interpolate: needs an image model (this run generates 2-D points)")
        samples, nrow = _interpolation(g, n, cfg.interpolate, cfg.seed, cfg.truncation, cfg.batch_size, labels)
    elif cfg.refine:
        from ganstyle.gan.refine import describe, refine_run

        if cfg.truncation is not None or labels is not None or cfg.per_class:
            raise GanstyleError("--refine: does not combine with --truncation, --class or --per-class")
        refined = refine_run(g, n, cfg.refine, steps=cfg.refine_steps, seed=cfg.seed, drs_quantile=cfg.drs_quantile)
        print(describe(refined, cfg.refine))
        samples = refined.samples
    else:
        if g.num_classes:
            # explicit labels, so that an .npz records which class each sample was drawn for
            y = (torch.randint(g.num_classes, (n,), generator=torch.Generator().manual_seed(cfg.seed + 1))
                 if labels is None else torch.as_tensor(labels, dtype=torch.long).expand(n).clone())
        samples = g.generate(n, seed=cfg.seed, batch_size=cfg.batch_size, truncation=cfg.truncation,
                             labels=y if y is not None else labels)
    if is_dir:
        out.mkdir(parents=True, exist_ok=True)
        if points:
            _save_npz(out / "points.npz", samples, y)
            save_points_plot(samples, out / "scatter.png", title=f"{n} samples, step {g.step}")
        else:
            from ganstyle.io.images import save_image

            for i, img in enumerate(samples):
                save_image(img, out / f"{i:06d}.png", value_range=(-1.0, 1.0))
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npz":
        return _save_npz(out, samples, y)
    if points:
        return save_points_plot(samples, out, title=f"{n} samples, step {g.step}")
    from ganstyle.io.images import save_grid

    return save_grid(samples, out, nrow=nrow or int(math.ceil(math.sqrt(samples.shape[0]))),
                     upscale=max(1, 64 // samples.shape[-1]))


def _interpolation(g: LoadedGenerator, n: int, k: int, seed: int, truncation, batch_size, labels):
    if k < 2:
        raise GanstyleError(f"--interpolate {k}: need at least 2 images per row")
    check_truncation(g.generator, truncation, getattr(g.config, "model", ""))
    rows = max(1, n // k)
    gen = torch.Generator().manual_seed(seed)
    a = sample_latents(g.generator, rows, gen, "cpu", truncation)
    b = sample_latents(g.generator, rows, gen, "cpu", truncation)
    z = slerp(a, b, torch.linspace(0, 1, k)).reshape(rows * k, -1)
    if g.num_classes and labels is None:
        # one class per row, so the row shows how the latent alone changes the image
        labels = torch.randint(g.num_classes, (rows,), generator=gen).repeat_interleave(k)
    samples = generate_from(g.generator, rows * k, seed=seed, batch_size=batch_size, truncation=truncation,
                            labels=labels, device=g.device, z=z)
    return samples, k
