"""Mode-collapse benchmark on ring8 and grid25 (PacGAN / VEEGAN protocol).

For every configuration × dataset × seed: train with ``ganstyle.gan.trainer.train_gan``,
draw 2500 samples and score them with :func:`ganstyle.metrics.modes.mode_coverage` (modes
covered, % high-quality samples, reverse KL to the uniform mode histogram). The same trained
model is sampled six ways: the averaged (EMA) generator, the raw generator, and the EMA
generator refined with the run's discriminator (``--refine drs`` exact and with the paper's
0.95 quantile, ``mh`` and ``langevin``, see :mod:`ganstyle.gan.refine`). Writes
``results.json`` (every run), ``table.md`` (mean ± standard error over seeds, beside PacGAN's
published rows) and one scatter PNG per dataset.
CPU seconds are the training process's CPU time (``time.process_time``), not wall time.

    OMP_NUM_THREADS=1 python benchmarks/mode_collapse.py --seeds 0-9 --configs default --out runs/bench/modes
    python benchmarks/mode_collapse.py --seeds 0,1 --configs plain,default --steps 1500   # a quick look
    python benchmarks/mode_collapse.py --seeds 0-9 --keep-runs runs/bench/modes-runs --variants langevin  # re-score kept runs
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# TrainConfig overrides per configuration; everything else is the MLP family's default on 2-D data
# (ganstyle.gan.models.mlp.POINT_DEFAULTS), i.e. "default" is what `ganstyle train --data ring8` does.
CONFIGS: dict[str, dict] = {
    "default": {},
    "plain": {"loss": "minimax", "r1_gamma": 0.0, "lr_decay": 0.0},  # the original GAN objective
    "hinge": {"loss": "hinge"},
    "no-r1": {"r1_gamma": 0.0},
    "no-decay": {"lr_decay": 0.0},
    "ema-0.999": {"ema_decay": 0.999},
    "pack2": {"pack": 2},
}
# how each trained model is sampled: the EMA generator, the raw one, EMA + refinement
VARIANTS = ("ema", "raw", "drs", "mh", "drs95", "langevin")
DATASETS = ("ring8", "grid25")
# PacGAN (Lin et al. 2018) Table 1, 10 trials (VEEGAN's row as quoted there): modes, % high quality, reverse KL (None: not quoted here)
PUBLISHED = {
    "ring8": {"GAN": (6.3, 98.2, None), "VEEGAN": (8.0, 52.9, None), "PacGAN2 (best)": (7.9, 95.6, 0.07)},
    "grid25": {"GAN": (17.3, 94.8, None), "VEEGAN": (24.6, 40.0, None), "PacGAN4 (best)": (24.8, 93.6, 0.04)},
}


def parse_seeds(text: str) -> list[int]:
    seeds = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            seeds += range(int(lo), int(hi) + 1)
        elif part:
            seeds.append(int(part))
    return seeds


def raw_generator(run: Path):
    """The run's generator without weight averaging (the checkpoint's ``G.`` tensors)."""
    from ganstyle.gan.models import build_generator
    from ganstyle.gan.sampling import load_generator
    from ganstyle.io.checkpoints import load_checkpoint, sub_state_dict

    g = load_generator(run)
    G = build_generator(g.config, g.data_shape, g.num_classes)
    G.load_state_dict(sub_state_dict(load_checkpoint(g.checkpoint)[0], "G"))
    return G.eval().requires_grad_(False)


def trained_run(cfg, run: Path) -> tuple[Path, float, float]:
    """Train ``cfg`` into ``run``, or reuse a finished run there (``--keep-runs``): returns the run and the
    training's CPU and wall seconds (recorded beside the run, so a reused run reports its own training)."""
    from ganstyle.gan.trainer import train_gan
    from ganstyle.io.checkpoints import latest_checkpoint

    record = run / "benchmark_training.json"
    if record.is_file():
        done = json.loads(record.read_text())
        stem = latest_checkpoint(run / "checkpoints")
        if done.get("steps") == cfg.steps and stem is not None and stem.name.endswith(f"{cfg.steps:08d}"):
            return run, done["cpu_seconds"], done["wall_seconds"]
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    run = train_gan(cfg, out=run, progress=False)
    cpu, wall = time.process_time() - t_cpu, time.perf_counter() - t_wall
    record.write_text(json.dumps({"steps": cfg.steps, "cpu_seconds": cpu, "wall_seconds": wall}) + "\n")
    return run, cpu, wall


def run_one(config: str, dataset: str, seed: int, steps: int | None, workdir: Path, variants=VARIANTS) -> list[dict]:
    from ganstyle.gan.refine import refine_run
    from ganstyle.gan.sampling import generate_from, load_generator
    from ganstyle.gan.trainer import TrainConfig, resolve_defaults
    from ganstyle.metrics.modes import PROTOCOL_SAMPLES, toy_mode_coverage

    overrides = dict(CONFIGS[config])
    steps = steps or overrides.pop("steps", None)
    overrides.pop("steps", None)
    # unset fields (steps too, unless given) resolve as `ganstyle train` resolves them
    cfg = resolve_defaults(TrainConfig(data=dataset, steps=steps, seed=seed, device="cpu", sample_every=0, ckpt_every=0,
                                       keep_checkpoints=1, precision="fp32", **overrides))
    steps = cfg.steps
    cfg = dataclasses.replace(cfg, log_every=max(steps // 10, 1))
    run, cpu, wall = trained_run(cfg, workdir / f"{config}-{dataset}-{seed}")
    rows = []
    for variant in variants:
        extra, t_sample = {}, time.process_time()
        if variant == "ema":
            samples = load_generator(run).generate(PROTOCOL_SAMPLES, seed=10_000 + seed)
        elif variant == "raw":
            samples = generate_from(raw_generator(run), PROTOCOL_SAMPLES, seed=10_000 + seed)
        else:
            if cfg.pack > 1:
                continue
            # drs95: DRS with gamma at the 95th percentile of F, the paper's setting
            method, quantile = ("drs", 0.95) if variant == "drs95" else (variant, None)
            refined = refine_run(run, PROTOCOL_SAMPLES, method, seed=10_000 + seed, drs_quantile=quantile)
            samples, extra = refined.samples, {"acceptance": refined.acceptance, "latent_shift": refined.latent_shift}
        score = toy_mode_coverage(samples, dataset)
        rows.append({"config": config if variant == "ema" else f"{config}/{variant}", "dataset": dataset, "seed": seed,
                     "steps": steps, "cpu_seconds": cpu, "wall_seconds": wall,
                     "sample_cpu_seconds": time.process_time() - t_sample, **score, **extra,
                     "samples": samples.numpy().round(4).tolist()})
    return rows


def summarise(rows: list[dict]) -> dict:
    out = {}
    for r in rows:
        out.setdefault((r["dataset"], r["config"]), []).append(r)
    table = {}
    for (ds, cfg), rs in out.items():
        stats = {}
        for key in ("modes", "hq", "rkl", "cpu_seconds", "sample_cpu_seconds"):
            v = np.array([r[key] for r in rs], dtype=float)
            # mean and its standard error over seeds
            stats[key] = (float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0)
        stats["seeds"] = len(rs)
        stats["steps"] = rs[0]["steps"]
        table[f"{ds}/{cfg}"] = stats
    return table


def markdown(table: dict) -> str:
    lines = []
    for ds in DATASETS:
        rows = {k.split("/", 1)[1]: v for k, v in table.items() if k.startswith(ds + "/")}
        if not rows:
            continue
        k = 8 if ds == "ring8" else 25
        lines += [f"### {ds} ({k} modes, 2500 samples; mean ± standard error over seeds)", "",
                  "| config / sampling | steps | seeds | modes | % high quality | reverse KL | train CPU s | sampling CPU s |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, s in rows.items():
            m, hq, kl, cpu, sc = s["modes"], s["hq"], s["rkl"], s["cpu_seconds"], s["sample_cpu_seconds"]
            lines.append(f"| {name} | {s['steps']} | {s['seeds']} | {m[0]:.2f} ± {m[1]:.2f} | {hq[0]:.1f} ± {hq[1]:.1f} | "
                         f"{kl[0]:.3f} ± {kl[1]:.3f} | {cpu[0]:.0f} ± {cpu[1]:.0f} | {sc[0]:.1f} |")
        for name, (m, hq, kl) in PUBLISHED[ds].items():
            lines.append(f"| *{name}, PacGAN Table 1* | – | 10 | {m} | {hq} | {'–' if kl is None else kl} | – | – |")
        lines.append("")
    return "\n".join(lines)


def scatter(rows: list[dict], dataset: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganstyle.data.toy2d import toy_centers

    first = {}
    for r in rows:
        if r["dataset"] == dataset and r["config"] not in first:
            first[r["config"]] = r
    if not first:
        return
    centers = toy_centers(dataset).numpy()
    fig, axes = plt.subplots(1, len(first), figsize=(3.2 * len(first), 3.4), dpi=110, squeeze=False)
    lim = 1.5 if dataset == "ring8" else 5.5
    for ax, (name, r) in zip(axes[0], first.items()):
        s = np.asarray(r["samples"])
        ax.scatter(s[:, 0], s[:, 1], s=1.5, alpha=0.5)
        ax.scatter(centers[:, 0], centers[:, 1], s=12, c="red", marker="x")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(f"{name} (seed {r['seed']})\n{r['modes']}/{r['num_modes']} modes, {r['hq']:.1f}% HQ", fontsize=8)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="0-9", help="e.g. 0-9 or 0,1,2")
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated from {', '.join(CONFIGS)}")
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--steps", type=int, default=None,
                   help="generator updates per run, for every config (default: each config's own, else the MLP family's on 2-D data)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run (CPU seconds are counted over all)")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated from {', '.join(VARIANTS)}")
    p.add_argument("--out", default="runs/bench/mode_collapse")
    p.add_argument("--keep-runs", default=None, metavar="DIR",
                   help="keep the trained runs here and reuse finished ones (to re-score them with other --variants)")
    args = p.parse_args(argv)
    configs = [c for c in args.configs.split(",") if c]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        p.error(f"unknown config(s) {unknown}; choose from {list(CONFIGS)}")
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.keep_runs or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for ds in args.datasets.split(","):
            for cfg in configs:
                for seed in parse_seeds(args.seeds):
                    for r in run_one(cfg, ds, seed, args.steps, workdir, args.variants.split(",")):
                        rows.append(r)
                        print(f"{ds:7s} {r['config']:14s} seed {seed}: {r['modes']:2d}/{r['num_modes']} modes, {r['hq']:5.1f}% HQ, "
                              f"rKL {r['rkl']:.3f}, {r['cpu_seconds']:.0f} CPU s", flush=True)
    table = summarise(rows)
    (out / "results.json").write_text(json.dumps({"steps": args.steps, "threads": args.threads, "table": table,
                                                  "configs": {c: CONFIGS[c] for c in configs},
                                                  "runs": [{k: v for k, v in r.items() if k != "samples"} for r in rows]},
                                                 indent=2) + "\n")
    (out / "table.md").write_text(markdown(table) + "\n")
    for ds in args.datasets.split(","):
        scatter(rows, ds, out / f"scatter_{ds}.png")
    print(markdown(table))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
