"""README grid: held-out photos x held-out paintings through the shipped AdaIN model (and, with
``--gatys``, Gatys on the first pair), with ``style-eval`` figures of every cell.

    python benchmarks/instant_style_grid.py --photos runs/style_data/test_photos \
        --paintings runs/style_data/test_paintings --out docs/images/instant_grid.jpg
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ganstyle.io.images import list_images, save_image  # noqa: E402
from ganstyle.style.api import stylize  # noqa: E402
from ganstyle.style.inputs import load_content  # noqa: E402
from ganstyle.style.evaluate import style_eval  # noqa: E402
from ganstyle.style.inputs import resize_image  # noqa: E402


def fit(img: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Centre-crop to the aspect ratio of (h, w), then resize."""
    ih, iw = img.shape[-2:]
    scale = max(h / ih, w / iw)
    img = resize_image(img, (max(h, round(ih * scale)), max(w, round(iw * scale))))
    y, x = (img.shape[-2] - h) // 2, (img.shape[-1] - w) // 2
    return img[:, y:y + h, x:x + w]


def grid_of(rows: list[list[torch.Tensor]], h: int, gap: int = 4) -> torch.Tensor:
    """Rows of (3, h, w) images as one image, with white gaps between images and rows."""
    lines = []
    for row in rows:
        parts = []
        for i, im in enumerate(row):
            parts += [im] + ([torch.ones(3, h, gap)] if i < len(row) - 1 else [])
        lines += [torch.cat(parts, dim=-1), torch.ones(3, gap, sum(p.shape[-1] for p in parts))]
    return torch.cat(lines[:-1], dim=-2)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", required=True)
    p.add_argument("--paintings", required=True)
    p.add_argument("--out", required=True, help="grid image (.jpg or .png); results.json beside it")
    p.add_argument("--size", type=int, default=512, help="long side the photos are stylised at")
    p.add_argument("--cell", type=int, default=200, help="cell height in the grid")
    p.add_argument("--eval-backbone", default="random")
    p.add_argument("--eval-weights", default=None)
    args = p.parse_args(argv)
    photos, paintings = list_images(args.photos), list_images(args.paintings)
    h, w = args.cell, round(args.cell * 4 / 3)
    blank = torch.ones(3, h, w)
    rows = [[blank] + [fit(load_content(s, "white", 512)[0], h, w) for s in paintings]]
    figures = {}
    for c in photos:
        row = [fit(load_content(c, "white", args.size)[0], h, w)]
        for s in paintings:
            t0 = time.perf_counter()
            out = stylize(c, [s], method="adain", size=args.size, device="cpu")
            seconds = time.perf_counter() - t0
            ev = style_eval(out, c, s, backbone=args.eval_backbone, weights=args.eval_weights, device="cpu")
            figures[f"{c.stem} x {s.stem}"] = {"seconds": round(seconds, 2), **ev}
            print(f"{c.stem} x {s.stem}: {seconds:.2f} s, " + ", ".join(
                f"{k} {v:.4g}" for k, v in ev.items() if isinstance(v, float)), flush=True)
            row.append(fit(out, h, w))
        rows.append(row)
    save_image(grid_of(rows, h), args.out)
    Path(args.out).with_suffix(".json").write_text(json.dumps(figures, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
