"""Build the offline training and test images for the style networks (no download).

Photos: scikit-image's and matplotlib's sample photos plus the content photos of a style folder,
each written whole and as zoomed-in crops (scales), so random crops see several scales; the
trainer adds random crops and flips. Paintings: the paintings of a style folder plus
procedurally generated styles (swirling strokes, stained glass, pointillist dots, hatching).
Held-out images (``--holdout``) go to ``test_photos/`` and ``test_paintings/`` and are never
trained on.

    python benchmarks/style_data.py --style-dir ../shared/data/style --out runs/style_data
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "camera",
                  "coins", "moon", "brick", "gravel")
MATPLOTLIB_PHOTOS = ("grace_hopper.jpg",)
STYLE_FOLDER_PHOTOS = ("tubingen", "golden_gate", "hoovertowernight")
DEFAULT_HOLDOUT = ("golden_gate", "hoovertowernight", "the_scream", "woman-with-hat-matisse")


def sample_photos() -> dict[str, Image.Image]:
    import matplotlib.cbook
    from skimage import data

    out = {}
    for name in SKIMAGE_PHOTOS:
        arr = getattr(data, name)()
        out[name] = Image.fromarray(arr).convert("RGB")
    for name in MATPLOTLIB_PHOTOS:
        with matplotlib.cbook.get_sample_data(name) as f:
            out[Path(name).stem] = Image.open(f).convert("RGB")
    return out


def zoom_crops(img: Image.Image, rng: np.random.Generator, n: int = 2, frac: float = 0.55) -> list[Image.Image]:
    """``n`` random crops covering ``frac`` of each side: after the trainer's resize, a larger scale."""
    w, h = img.size
    cw, ch = max(64, int(w * frac)), max(64, int(h * frac))
    crops = []
    for _ in range(n):
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crops.append(img.crop((x, y, x + cw, y + ch)))
    return crops


def _palette(rng: np.random.Generator, k: int = 6) -> np.ndarray:
    hues = (rng.uniform() + np.arange(k) * rng.uniform(0.08, 0.3)) % 1.0
    from colorsys import hsv_to_rgb

    return np.array([hsv_to_rgb(hh, rng.uniform(0.4, 0.9), rng.uniform(0.35, 0.95)) for hh in hues]) * 255


def stained_glass(size: int, rng: np.random.Generator) -> Image.Image:
    """Voronoi cells in a palette with dark leading between them."""
    pal = _palette(rng)
    pts = rng.uniform(0, size, size=(int(rng.integers(40, 160)), 2))
    yy, xx = np.mgrid[0:size, 0:size]
    d = (xx[..., None] - pts[:, 0]) ** 2 + (yy[..., None] - pts[:, 1]) ** 2
    order = np.argsort(d, axis=-1)
    nearest, second = order[..., 0], order[..., 1]
    d1 = np.take_along_axis(d, nearest[..., None], -1)[..., 0] ** 0.5
    d2 = np.take_along_axis(d, second[..., None], -1)[..., 0] ** 0.5
    colours = pal[rng.integers(0, len(pal), size=len(pts))]
    img = colours[nearest] * (0.85 + 0.3 * rng.uniform(size=(len(pts), 1)))[nearest]
    img[(d2 - d1) < size / 160] = 20
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7))


def pointillism(size: int, rng: np.random.Generator) -> Image.Image:
    """Dense round dots whose colour follows a smooth random field."""
    pal = _palette(rng)
    img = Image.new("RGB", (size, size), tuple(int(v) for v in pal[0] * 0.5))
    draw = ImageDraw.Draw(img)
    waves = rng.normal(size=(3, 3))
    r = rng.uniform(2, 5) * size / 256
    for _ in range(int(size * size / (r * r * 1.6))):
        x, y = rng.uniform(0, 1, size=2)
        v = sum(math.sin(a * 5 * x + b * 5 * y + c) for a, b, c in waves) / 3
        c = pal[int((v + 1) / 2 * (len(pal) - 1e-6))] * rng.uniform(0.8, 1.2)
        rr = r * rng.uniform(0.7, 1.3)
        draw.ellipse((x * size - rr, y * size - rr, x * size + rr, y * size + rr),
                     fill=tuple(int(v) for v in np.clip(c, 0, 255)))
    return img


def hatching(size: int, rng: np.random.Generator) -> Image.Image:
    """Crossed ink hatching on paper, denser where a random field is dark."""
    paper = np.array([235, 225, 200]) * rng.uniform(0.9, 1.05)
    ink = _palette(rng, 2)[0] * 0.35
    img = Image.new("RGB", (size, size), tuple(int(v) for v in np.clip(paper, 0, 255)))
    draw = ImageDraw.Draw(img)
    waves = rng.normal(size=(3, 3))
    angles = rng.uniform(0, math.pi, size=2)
    for _ in range(int(size * size / 60)):
        x, y = rng.uniform(0, 1, size=2)
        dark = (sum(math.sin(a * 4 * x + b * 4 * y + c) for a, b, c in waves) / 3 + 1) / 2
        if rng.uniform() > dark:
            continue
        a = angles[int(rng.integers(0, 2))] + rng.normal(0, 0.08)
        ln = size * rng.uniform(0.02, 0.05)
        draw.line((x * size, y * size, x * size + math.cos(a) * ln, y * size + math.sin(a) * ln),
                  fill=tuple(int(v) for v in np.clip(ink, 0, 255)), width=max(1, size // 256))
    return img


def procedural_paintings(size: int, seed: int) -> dict[str, Image.Image]:
    import torch

    from ganstyle.style.demo import swirl_painting

    out = {}
    for i in range(3):
        t = swirl_painting(size, seed=seed + i)
        out[f"proc_swirl{i}"] = Image.fromarray((t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    for i, fn in enumerate((stained_glass, pointillism, hatching, stained_glass, pointillism, hatching)):
        out[f"proc_{fn.__name__}{i}"] = fn(size, np.random.default_rng(seed + 100 + i))
    del torch
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--style-dir", required=True, help="folder with the classic paintings and content photos")
    p.add_argument("--out", required=True, help="output folder (photos/, paintings/, test_photos/, test_paintings/)")
    p.add_argument("--holdout", default=",".join(DEFAULT_HOLDOUT), help="image stems never trained on")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=512, help="long side of the written images")
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    for sub in ("photos", "paintings", "test_photos", "test_paintings"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    holdout = set(filter(None, args.holdout.split(",")))

    def save(img: Image.Image, folder: str, name: str) -> None:
        img = img.copy()
        img.thumbnail((args.size, args.size), Image.Resampling.LANCZOS)
        img.save(out / folder / f"{name}.png")

    photos = sample_photos()
    paintings = {}
    for f in sorted(Path(args.style_dir).iterdir()):
        if f.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        img = Image.open(f).convert("RGB")
        (photos if f.stem in STYLE_FOLDER_PHOTOS else paintings)[f.stem] = img
    for name, img in photos.items():
        if name in holdout:
            save(img, "test_photos", name)
            continue
        save(img, "photos", name)
        for k, crop in enumerate(zoom_crops(img, rng)):
            save(crop, "photos", f"{name}_zoom{k}")
    paintings.update(procedural_paintings(args.size, args.seed))
    for name, img in paintings.items():
        save(img, "test_paintings" if name in holdout else "paintings", name)
        if name not in holdout and not name.startswith("proc_"):
            for k, crop in enumerate(zoom_crops(img, rng, n=1)):
                save(crop, "paintings", f"{name}_zoom{k}")
    for sub in ("photos", "paintings", "test_photos", "test_paintings"):
        print(f"{sub}: {len(list((out / sub).iterdir()))} images")


if __name__ == "__main__":
    main()
