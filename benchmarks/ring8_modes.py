"""Mode coverage of the default MLP GAN on ring8, the issue's done-when check, for a few seeds.

    OMP_NUM_THREADS=1 python benchmarks/ring8_modes.py --seeds 0 1 2 --steps 5000

Equivalent to ``ganstyle train --data ring8 --model mlp --steps 5000 --out RUN`` followed
by ``ganstyle sample RUN --n 2500 --out pts.npz``; reports the fraction of samples within
3 std of a mode centre ("high quality", PacGAN's protocol) and how many of the 8 modes
receive such samples. Writes JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from ganstyle.data.toy2d import TOY_STD, toy_centers
from ganstyle.gan.sampling import load_generator
from ganstyle.gan.trainer import TrainConfig, train_gan


def mode_stats(points: torch.Tensor, name: str = "ring8") -> dict:
    centers = toy_centers(name).float()
    dist = torch.cdist(points.float(), centers)
    nearest, mode = dist.min(1)
    hq = nearest < 3 * TOY_STD[name]
    counts = torch.bincount(mode[hq], minlength=len(centers))
    return {"hq_fraction": round(hq.float().mean().item(), 4), "modes_hit": int((counts > 0).sum()),
            "min_mode_count": int(counts.min()), "counts": counts.tolist()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--out", default="benchmarks/results/ring8_modes.json")
    args = ap.parse_args()
    results = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            run = train_gan(TrainConfig(data="ring8", model="mlp", steps=args.steps, seed=seed), out=Path(tmp) / "run",
                            progress=False)
            seconds = time.perf_counter() - t
            stats = mode_stats(load_generator(run).generate(args.n, seed=0))
        results.append({"seed": seed, "train_s": round(seconds, 1), **stats})
        print(json.dumps(results[-1]), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"steps": args.steps, "n": args.n, "runs": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
