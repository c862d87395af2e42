"""Instant style vs Gatys on the same photo, in the same run.

The AdaIN path (the model shipped in the package, no ``--model``) is timed in fresh processes,
so every repeat pays the model load: ``load`` = reading the shipped files, ``stylize`` = reading
the images, encoder + AdaIN + decoder at ``--size`` and writing the PNG. Import time of torch
and ganstyle is reported separately. Minimum and median over ``--repeats`` are printed, wall
and process CPU time; under load from other jobs the wall figures are inflated (the load
average is printed beside them). Then one Gatys run with the current defaults on the same
photo, and ``style-eval`` figures of both results.

    python benchmarks/instant_style_speed.py ../shared/data/style/golden_gate.jpg \
        ../shared/data/style/the_scream.jpg --out runs/instant
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
t0 = time.perf_counter(); c0 = time.process_time()
import torch
torch.set_num_threads(int(sys.argv[4]))
from ganstyle.style.api import stylize
from ganstyle.style.pretrained import load_shipped_model
t1 = time.perf_counter(); c1 = time.process_time()
load_shipped_model("cpu")
t2 = time.perf_counter(); c2 = time.process_time()
stylize(sys.argv[1], [sys.argv[2]], method="adain", size=int(sys.argv[5]), out=sys.argv[3], device="cpu")
t3 = time.perf_counter(); c3 = time.process_time()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "stylize": t3 - t2, "load+stylize": t3 - t1,
                  "cpu_load+stylize": c3 - c1}))
"""


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("content")
    p.add_argument("style")
    p.add_argument("--out", required=True, help="folder for the two results and results.json")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gatys", action=argparse.BooleanOptionalAction, default=True, help="also run Gatys (default: yes)")
    p.add_argument("--eval-backbone", default="random")
    p.add_argument("--eval-weights", default=None)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    runs = []
    for i in range(args.repeats):
        load = os.getloadavg()[0]
        r = subprocess.run([sys.executable, "-c", CHILD, args.content, args.style, str(out / "adain.png"),
                            str(args.threads), str(args.size)], capture_output=True, text=True, env=env, check=True)
        runs.append({**json.loads(r.stdout.strip().splitlines()[-1]), "loadavg": load})
    keys = ("import", "load", "stylize", "load+stylize", "cpu_load+stylize")
    summary = {k: {"min": min(r[k] for r in runs), "median": statistics.median(r[k] for r in runs)} for k in keys}
    print(f"adain (shipped model), {args.size} px, {args.threads} threads, {args.repeats} fresh processes "
          f"(load average {min(r['loadavg'] for r in runs):.1f}..{max(r['loadavg'] for r in runs):.1f}):")
    for k in keys:
        print(f"  {k:>17}: min {summary[k]['min']:.2f} s, median {summary[k]['median']:.2f} s")
    results = {"adain": {"runs": runs, "summary": summary}}
    if args.gatys:
        import torch

        from ganstyle.style.api import stylize
        from ganstyle.style.evaluate import style_eval

        torch.set_num_threads(args.threads)
        w0, c0 = time.perf_counter(), time.process_time()
        stylize(args.content, [args.style], method="gatys", size=args.size, out=out / "gatys.png",
                backbone="random", device="cpu", progress=False)
        g_wall, g_cpu = time.perf_counter() - w0, time.process_time() - c0
        print(f"gatys (defaults, random backbone), {args.size} px: {g_wall:.1f} s wall, {g_cpu:.1f} CPU-s "
              f"(load average {os.getloadavg()[0]:.1f})")
        results["gatys"] = {"wall": g_wall, "cpu": g_cpu}
        for name in ("adain", "gatys"):
            ev = style_eval(out / f"{name}.png", args.content, args.style, backbone=args.eval_backbone,
                            weights=args.eval_weights, device="cpu")
            results[name]["style_eval"] = ev
            print(f"  style-eval {name} ({ev['backbone']}): " + ", ".join(
                f"{k} {v:.4g}" for k, v in ev.items() if isinstance(v, float)))
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
