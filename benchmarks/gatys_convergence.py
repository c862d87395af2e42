"""Gatys on a CPU: style and content loss against process CPU time for several optimiser settings.

Each setting runs until its step count or CPU budget is spent; the loss curve (CPU seconds,
content, style, total at the finest scale) goes to a CSV, the final image to a PNG, and
``style-eval`` figures of every final image are printed in a table. CPU time is
``time.process_time()`` (all threads of this process), so it is not inflated by other jobs.

    python benchmarks/gatys_convergence.py ../shared/data/style/tubingen.jpg \
        ../shared/data/style/starry_night.jpg --out runs/gatys_conv --backbone random
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ganstyle.io.images import save_image  # noqa: E402
from ganstyle.style.inputs import load_content  # noqa: E402
from ganstyle.style.backbones import build_backbone  # noqa: E402
from ganstyle.style.evaluate import style_eval  # noqa: E402
from ganstyle.style.methods.gatys import GatysConfig, run_gatys  # noqa: E402

# name -> GatysConfig overrides. "old-default" is the default before this benchmark, "default" today's.
SETTINGS = {
    "default": dict(),
    "old-default": dict(optimizer="adam", iterations=300, scales=1),
    "adam": dict(optimizer="adam", iterations=300, scales=1),
    "lbfgs": dict(optimizer="lbfgs", iterations=300, scales=1),
    "lbfgs-3scale": dict(optimizer="lbfgs", scales=3, scale_iterations=[50, 30, 12]),
    "adam-3scale": dict(optimizer="adam", scales=3, scale_iterations=[100, 60, 25]),
    "adam-2scale": dict(optimizer="adam", scales=2, scale_iterations=[50, 25]),
    "adam-2scale-long": dict(optimizer="adam", scales=2, scale_iterations=[60, 40]),
    "lbfgs-35": dict(optimizer="lbfgs", iterations=35, scales=1),
    "lbfgs-2scale": dict(optimizer="lbfgs", scales=2, scale_iterations=[25, 20]),
}


class CpuBudget(Exception):
    pass


def run_one(name, overrides, content, style, backbone, size, budget, out_dir):
    rows = []
    start = time.process_time()
    wall = time.perf_counter()

    def callback(level, step, image, losses):
        rows.append({"scale": level, "step": step, "cpu_s": time.process_time() - start, **losses})
        if time.process_time() - start > budget:
            raise CpuBudget(image.detach()[0].float().cpu().clamp(0, 1))

    cfg = GatysConfig(size=size, progress=False, device="cpu", **overrides)
    try:
        image = run_gatys(content, [style], cfg, backbone=backbone, callback=callback).image
        stopped = ""
    except CpuBudget as stop:
        image, stopped = stop.args[0], f" (stopped at the {budget:.0f} CPU-s budget)"
    cpu, wall = time.process_time() - start, time.perf_counter() - wall
    save_image(image, out_dir / f"{name}.png")
    with open(out_dir / f"{name}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return image, cpu, wall, len(rows), stopped


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("content")
    p.add_argument("style")
    p.add_argument("--out", required=True)
    p.add_argument("--backbone", default="random")
    p.add_argument("--weights", default=None)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--settings", default=",".join(SETTINGS),
                   help=f"comma list of {', '.join(SETTINGS)}; NAME:SECONDS overrides --budget for one")
    p.add_argument("--budget", type=float, default=240.0, help="CPU seconds per setting at most")
    p.add_argument("--eval-backbones", default="random", help="comma list of backbones for the style-eval figures")
    p.add_argument("--eval-weights", default=None, help="weights file for the VGG eval backbone")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    content, _ = load_content(args.content, "white", args.size)
    style, _ = load_content(args.style, "white", args.size)
    backbone = build_backbone(args.backbone, args.weights, pooling="avg", announce=False)
    results = {}
    for item in args.settings.split(","):
        name, _, budget = item.partition(":")
        image, cpu, wall, steps, stopped = run_one(name, SETTINGS[name], content, style, backbone, args.size,
                                                   float(budget or args.budget), out_dir)
        results[name] = {"cpu_s": round(cpu, 1), "wall_s": round(wall, 1), "steps": steps, "stopped": stopped}
        print(f"{args.backbone} {name}: {cpu:.1f} CPU-s, {wall:.1f} s wall (contended), {steps} steps{stopped}",
              flush=True)
        for eb in args.eval_backbones.split(","):
            ev = style_eval(image, args.content, args.style, backbone=eb,
                            weights=None if eb == "random" else args.eval_weights, device="cpu")
            results[name][eb] = ev
            print(f"    style-eval ({eb}): " + ", ".join(f"{k} {v:.4g}" for k, v in ev.items()
                                                     if isinstance(v, float)), flush=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
