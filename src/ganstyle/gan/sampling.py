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

from ganstyle.config import field, validate
from ganstyle.errors import GanstyleError
# load_generator, generate_from and slerp are imported from here by callers too
from ganstyle.gan.generator import (LoadedGenerator, check_truncation, generate_from, load_generator,  # noqa: F401
                                   sample_latents, slerp)


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
    refine: str | None = field(None, choices=("drs", "mh", "langevin"), help="correct samples with the run's discriminator: "
                               "rejection sampling (drs), Metropolis-Hastings (mh) or latent Langevin steps uphill on D (langevin)")
    refine_steps: int | None = field(None, ge=1, help="--refine mh: proposals per chain (default: 20); --refine langevin: "
                                     "steps (default: 50)")
    refine_step_size: float | None = field(None, gt=0, help="--refine langevin: step size ε in latent space (default: 1e-3)")
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
    ``refine="drs"|"mh"|"langevin"`` corrects the samples with the run's discriminator
    (:mod:`ganstyle.gan.refine`; ``refine_steps``: MH chain length or Langevin steps,
    ``refine_step_size``: Langevin's step). ``interpolate_from`` and
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
        refined = refine_run(g, n, cfg.refine, steps=cfg.refine_steps, seed=cfg.seed, drs_quantile=cfg.drs_quantile,
                             step_size=cfg.refine_step_size)
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
