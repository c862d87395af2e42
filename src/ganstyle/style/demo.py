"""The style demo: a photo that ships with scikit-image, painted in a procedurally generated
brush-stroke style, with the random-filter backbone (no download) and Gatys optimisation."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch

from ganstyle.io.images import save_image

# Night-sky palette: deep blues, teal, warm yellows (RGB 0..255).
PALETTE = np.array([
    [18, 32, 84], [30, 62, 140], [52, 98, 178], [86, 140, 196], [40, 110, 120],
    [232, 200, 76], [246, 226, 130], [214, 150, 48], [14, 20, 40],
], dtype=np.float32)


def swirl_painting(size: int = 256, seed: int = 0, strokes: int | None = None) -> torch.Tensor:
    """A painting of short, thick, dark-edged brush strokes that follow a field of swirls.

    Returns (3, size, size) in [0, 1]. Colours come from ``PALETTE``, chosen by a smooth
    random field so that regions have a dominant hue, as in a real painting.
    """
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    strokes = strokes or int(size * size / 18)
    scale = 2  # draw at 2x and downsample: anti-aliased strokes
    s = size * scale
    img = Image.new("RGB", (s, s), tuple(int(v) for v in PALETTE[1]))
    draw = ImageDraw.Draw(img)
    centres = rng.uniform(0, 1, size=(5, 2))
    spins = rng.choice([-1.0, 1.0], size=5) * rng.uniform(0.6, 1.0, size=5)
    hue_waves = rng.normal(size=(4, 3))

    def angle(x: float, y: float) -> float:
        vx, vy = 0.3, 0.1  # a gentle drift, so that strokes between swirls still flow
        for (cx, cy), spin in zip(centres, spins):
            dx, dy = x - cx, y - cy
            r2 = dx * dx + dy * dy + 0.01
            vx += -spin * dy / r2 * 0.05
            vy += spin * dx / r2 * 0.05
        return math.atan2(vy, vx)

    def palette_index(x: float, y: float) -> int:
        v = sum(math.sin(a * 6 * x + b * 6 * y + c) for a, b, c in hue_waves) / 4
        warm = v > 0.25
        pool = [5, 6, 7] if warm else [0, 1, 2, 3, 4]
        return int(rng.choice(pool))

    for _ in range(strokes):
        x, y = rng.uniform(0, 1, size=2)
        length = rng.uniform(0.02, 0.05)
        width = rng.uniform(0.008, 0.016) * s
        colour = PALETTE[palette_index(x, y)] * rng.uniform(0.85, 1.15)
        pts = [(x * s, y * s)]
        for _ in range(4):  # short curved stroke along the field
            a = angle(x, y)
            x, y = x + math.cos(a) * length / 4, y + math.sin(a) * length / 4
            pts.append((x * s, y * s))
        edge = tuple(int(v) for v in np.clip(colour * 0.45, 0, 255))
        fill = tuple(int(v) for v in np.clip(colour, 0, 255))
        draw.line(pts, fill=edge, width=int(width + 2 * scale), joint="curve")
        draw.line(pts, fill=fill, width=int(width), joint="curve")
    img = img.filter(ImageFilter.GaussianBlur(0.6 * scale)).resize((size, size), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def demo_content(long_side: int) -> torch.Tensor:
    """scikit-image's cat photo (chelsea, 451x300), resized to ``long_side``."""
    from skimage import data

    from ganstyle.style.inputs import output_size, resize_image

    img = torch.from_numpy(data.chelsea().astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()
    return resize_image(img, output_size(tuple(img.shape[-2:]), long_side))


def _panel(images: list[torch.Tensor], height: int) -> torch.Tensor:
    """Side by side at a common height (each keeps its aspect ratio), white gaps."""
    from ganstyle.style.inputs import resize_image

    resized = [resize_image(im, (height, max(1, round(im.shape[-1] * height / im.shape[-2])))) for im in images]
    gap = torch.ones(3, height, 6)
    parts = []
    for i, im in enumerate(resized):
        parts += [im] + ([gap] if i < len(resized) - 1 else [])
    return torch.cat(parts, dim=-1)


def run_style_demo(out: str | Path = "runs/demo/style", seed: int = 0, quick: bool = False, *,
                   size: int | None = None, iterations: int | None = None) -> dict[str, Path]:
    """Write content.png, style.png, stylized.png (Gatys), instant.png (the shipped AdaIN model) and
    panel.png (content | style | gatys | instant) to ``out``.

    About 1 CPU-minute (320 px, two scales); ``quick``: 160 px, one scale, a few seconds.
    ``size``/``iterations`` override the quick settings (for smoke tests).
    """
    from ganstyle.style.backbones import random_backbone
    from ganstyle.style.methods.gatys import GatysConfig, run_gatys

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    size = size or (160 if quick else 320)
    content = demo_content(size)
    style = swirl_painting(256, seed=seed)
    # Quick: one small scale (a coarser level would leave the content features too few pixels).
    cfg = GatysConfig(size=size, scales=1 if quick else 2, iterations=iterations or 80,
                      scale_iterations=[] if quick else [150, 60],
                      optimizer="adam",  # many cheap steps: the demo's picture evolves steadily
                      backbone="random", seed=seed, device="cpu", progress=True)
    start = time.perf_counter()
    result = run_gatys(content, [style], cfg, backbone=random_backbone(seed, pooling=cfg.pooling))
    paths = {
        "style_content": save_image(content, out / "content.png"),
        "style_style": save_image(style, out / "style.png"),
        "style_result": save_image(result.image, out / "stylized.png"),
    }
    h = result.history
    print(f"style demo: {result.sizes[-1][1]}x{result.sizes[-1][0]} in {time.perf_counter() - start:.0f} s, "
          f"style loss {h[0]['style']:.3g} -> {h[-1]['style']:.3g}")
    instant, seconds = instant_style(content, style)
    paths["style_instant"] = save_image(instant, out / "instant.png")
    print(f"style demo, instant (AdaIN, the shipped model): {instant.shape[-1]}x{instant.shape[-2]} in {seconds:.2f} s")
    paths["style_panel"] = save_image(_panel([content, style, result.image, instant], result.image.shape[-2]),
                                      out / "panel.png")
    print(f"style demo: content | style | gatys | instant -> {paths['style_panel']}")
    return paths


def instant_style(content: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The instant path: the AdaIN model shipped in the package, load included; (image, seconds)."""
    from ganstyle.style.methods.adain import stylize_adain
    from ganstyle.style.pretrained import load_shipped_model

    start = time.perf_counter()
    model = load_shipped_model("cpu")
    image = stylize_adain(content, [style], model, device="cpu")
    return image, time.perf_counter() - start
