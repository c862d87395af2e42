"""``ganstyle demo``: the main job on the embedded default data, no downloads."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="train a GAN on bundled digits and ring8, stylise a bundled photo (no downloads)",
        description="Runs every job once on data that ships with the installed packages and prints where it wrote the results.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", default="runs/demo", help="output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--quick", action="store_true", help="a few steps of each part only (smoke test)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (each part still prints a line when it starts)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ganstyle.demo import run_demo

    outputs = run_demo(args.out, seed=args.seed, quick=args.quick, progress=not args.no_progress)
    print("demo outputs:")
    for name, path in outputs.items():
        print(f"  {name:<22} {path}")
    return 0
