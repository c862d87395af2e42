"""What the Runs and Stylise pages show: run directories under the workdir, and images.

A run directory is any folder (up to a few levels below the workdir) with the
``config.toml`` and ``checkpoints/`` that ``ganstyle train`` writes. The images that ship
with the package (the procedural swirl painting of :mod:`ganstyle.style.demo`, and
scikit-image's sample photos when it is installed) are written once into
``<workdir>/library`` so they can be chosen like uploads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ganstyle.io.images import IMAGE_EXTENSIONS, list_images, save_image
from ganstyle.io.runlog import read_csv
from ganstyle.studio.files import UPLOAD_DATASETS, UPLOAD_IMAGES, relative_to, safe_path

RUN_SEARCH_DEPTH = 3
LIBRARY = "library"
# (file name, scikit-image sample name) of the shipped content photos.
SKIMAGE_PHOTOS = (("cat.png", "chelsea"), ("coffee.png", "coffee"), ("astronaut.png", "astronaut"))
SWIRL_SEEDS = (0, 1, 2)


def ensure_library(workdir: Path) -> None:
    """Write the shipped style and content images into ``workdir/library`` (once)."""
    styles, contents = workdir / LIBRARY / "styles", workdir / LIBRARY / "content"
    styles.mkdir(parents=True, exist_ok=True)
    contents.mkdir(parents=True, exist_ok=True)
    from ganstyle.style.demo import swirl_painting

    for seed in SWIRL_SEEDS:
        path = styles / f"swirl-{seed}.png"
        if not path.exists():
            save_image(swirl_painting(256, seed=seed), path)
    try:
        from skimage import data
    except ImportError:  # photos are optional; uploads still work
        return
    import numpy as np
    import torch

    for name, sample in SKIMAGE_PHOTOS:
        path = contents / name
        if not path.exists():
            arr = getattr(data, sample)()[..., :3].astype(np.float32) / 255.0
            save_image(torch.from_numpy(arr).permute(2, 0, 1).contiguous(), path)


def list_images_under(workdir: Path, folder: str) -> list[dict[str, str]]:
    root = workdir / folder
    if not root.is_dir():
        return []
    return [{"name": p.name, "path": relative_to(workdir, p)}
            for p in list_images(root) if not p.name.startswith(".")]


def image_catalogue(workdir: Path) -> dict[str, Any]:
    datasets = workdir / UPLOAD_DATASETS
    return {
        "content": list_images_under(workdir, f"{LIBRARY}/content"),
        "styles": list_images_under(workdir, f"{LIBRARY}/styles"),
        "uploads": list_images_under(workdir, UPLOAD_IMAGES),
        "datasets": [{"name": p.name, "path": relative_to(workdir, p)}
                     for p in sorted(datasets.iterdir()) if p.is_dir() and not p.name.startswith(".")]
        if datasets.is_dir() else [],
        "models": [{"name": p.name, "path": relative_to(workdir, p)}
                   for p in sorted((workdir / "models").glob("*")) if p.is_dir()]
        if (workdir / "models").is_dir() else [],
    }


def is_run_dir(path: Path) -> bool:
    """A GAN run, also while its first checkpoint is still to come."""
    return (path / "config.toml").is_file() and ((path / "checkpoints").is_dir() or (path / "metrics.csv").is_file())


def find_runs(workdir: Path) -> list[Path]:
    """Run directories under ``workdir`` (not below another run, not in hidden folders)."""
    found: list[Path] = []
    root = workdir.resolve()
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        if is_run_dir(here):
            found.append(here)
            dirnames[:] = []
            continue
        depth = len(here.relative_to(root).parts)
        dirnames[:] = [] if depth >= RUN_SEARCH_DEPTH else sorted(d for d in dirnames if not d.startswith("."))
    return sorted(found)


def _checkpoint_steps(run: Path) -> list[int]:
    from ganstyle.io.checkpoints import list_checkpoints

    return sorted(step for step, _ in list_checkpoints(run / "checkpoints"))


def run_summary(workdir: Path, run: Path) -> dict[str, Any]:
    rows = read_csv(run / "metrics.csv")
    samples = sorted((run / "samples").glob("step_*.png"))
    return {
        "path": relative_to(workdir, run), "name": run.name,
        "step": max((int(float(r["step"])) for r in rows if r.get("step")), default=0),
        "checkpoints": _checkpoint_steps(run),
        "latest_sample": relative_to(workdir, samples[-1]) if samples else None,
        "modified": run.stat().st_mtime,
    }


def run_detail(workdir: Path, rel: str) -> dict[str, Any]:
    """Everything the Runs page shows about one run."""
    from ganstyle.errors import GanstyleError

    run = safe_path(workdir, rel)
    if not (run / "config.toml").is_file():
        raise GanstyleError(f"run {rel}: not a run directory (no config.toml)")
    detail = run_summary(workdir, run)
    detail["config"] = (run / "config.toml").read_text()
    detail["metrics"] = read_csv(run / "metrics.csv")
    detail["samples"] = [relative_to(workdir, p) for p in sorted((run / "samples").glob("step_*.png"))]
    detail["plots"] = [relative_to(workdir, run / name) for name in ("losses.png", "metrics.png") if (run / name).is_file()]
    studio = run / "studio"
    detail["outputs"] = [relative_to(workdir, p) for p in sorted(studio.iterdir())
                         if p.suffix.lower() in (*IMAGE_EXTENSIONS, ".json")] if studio.is_dir() else []
    return detail
