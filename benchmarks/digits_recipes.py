"""Small-budget DCGAN recipes on real MNIST digits at 32 px, under a fixed CPU budget.

Every row trains ``--model dcgan`` on the protocol's training folder (see
``mnist_protocol.py``: the first N of 8,000 MNIST test digits, padded to 32 px) for a
budget of **CPU-seconds**: process CPU time (``time.process_time()``) with one thread
(``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``), so "3 CPU-minutes" is 180 s of one
core whatever else runs on the machine. Wall time is recorded but not used. Rows are then
measured against the 2,000 held-out digits with the protocol's classifier features: FID,
KID, precision/recall and class coverage of the averaged (EMA) generator. During training
the raw generator and extra weight averages (``--side-emas``) are tracked too, and their
FIDs recorded, so one run compares EMA horizons (their update costs count in the budget).

``pytorch-examples`` is the DCGAN recipe of the pytorch/examples repository scaled to
32 px and 1 channel (see :data:`RECIPES` for the deviations), the baseline.

    # screening: 1 CPU-minute, all 8,000 digits, one seed
    python benchmarks/digits_recipes.py --mnist ../shared/data/mnist --rows w32,w32-hinge --budget 60
    # finalists, subsets, bf16 vs fp32
    python benchmarks/digits_recipes.py --mnist ../shared/data/mnist --rows w16-lr1e3-b32 --n-train 500,2000,8000 --budget 180
    python benchmarks/digits_recipes.py --mnist ../shared/data/mnist --rows w16-lr1e3-b32 --precision fp32 --budget 180
    # refinement lift: the same trained model sampled plain, with --refine drs and --refine mh
    python benchmarks/digits_recipes.py --mnist ../shared/data/mnist --rows w16-lr1e3-b32 --budget 180 --refine
    python benchmarks/digits_recipes.py --mnist ../shared/data/mnist --rows w16-lr1e3-b32 --budget 180 --refine-existing

Results accumulate in ``OUT/digits_recipes.json`` (one entry per row x training size x seed x
budget x precision; rerunning an entry replaces it; ``summary`` pools the entries that differ only
by seed: mean and standard error of each metric) and ``OUT/digits_recipes.md``.

    # three seeds of the default recipe and the baseline at three training sizes
    python benchmarks/digits_recipes.py --mnist ../shared/data/mnist --rows w16-lr1e3-b32,pytorch-examples \
        --n-train 500,2000,8000 --seeds 0,1,2 --budget 180
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mnist_protocol as mp  # noqa: E402

BASELINE = "pytorch-examples"
# Row name -> TrainConfig overrides on top of --model dcgan.
RECIPES: dict[str, dict] = {
    # pytorch/examples dcgan/main.py at 32 px, 1 channel: ngf = ndf = 64 (G 256-128-64 channels
    # from 4x4, D 64-128-256), BN in G and D (none on D's first layer), ReLU in G, LeakyReLU 0.2 in D,
    # N(0, 0.02) init, Adam 2e-4 (0.5, 0.999), batch 64, BCE with real targets for G (= "ns"),
    # nz = 100, no weight average, fp32. Deviations: its 64 px net has one more stage; its first
    # G layer is a 4x4 transposed conv from 1x1 (here the equivalent linear map), its final G
    # layer and D's first conv have no bias (here they do), its D head is a 4x4 conv + sigmoid
    # (here the equivalent linear map on the flattened 4x4 features, sigmoid inside the loss).
    "pytorch-examples": {"g_width": 64, "d_width": 64, "latent_dim": 100, "loss": "ns", "g_lr": 2e-4,
                         "d_lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 64, "ema_decay": 0.0,
                         "d_norm": "bn", "precision": "fp32"},
    # candidates (precision: --precision, default auto)
    "w64": {"g_width": 64, "d_width": 64, "ema_decay": 0.995},
    "w32": {"g_width": 32, "d_width": 32, "ema_decay": 0.995},
    "w16": {"g_width": 16, "d_width": 16, "ema_decay": 0.995},
    "w24": {"g_width": 24, "d_width": 24, "ema_decay": 0.995},
    "w12": {"g_width": 12, "d_width": 12, "ema_decay": 0.995},
    "g24-d16": {"g_width": 24, "d_width": 16, "ema_decay": 0.995},
    "w16-hinge": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "loss": "hinge"},
    "w16-sn": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "d_norm": "sn"},
    "w16-r1": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "r1_gamma": 1.0, "reg_every": 4},
    "w16-ttur": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "g_lr": 1e-4, "d_lr": 4e-4},
    "w16-lr5": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "g_lr": 5e-4, "d_lr": 5e-4},
    "w16-b32": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "batch_size": 32},
    "w16-b128": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "batch_size": 128},
    "w16-daug": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "diffaugment": "translation"},
    # second round, on the faster learning rate
    "w16-lr1e3": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "g_lr": 1e-3, "d_lr": 1e-3},
    "w16-lr5-hinge": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "g_lr": 5e-4, "d_lr": 5e-4, "loss": "hinge"},
    "w16-lr5-b32": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "g_lr": 5e-4, "d_lr": 5e-4, "batch_size": 32},
    "w16-lr5-r1": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "g_lr": 5e-4, "d_lr": 5e-4, "r1_gamma": 1.0,
                   "reg_every": 4},
    "w24-lr5": {"g_width": 24, "d_width": 24, "ema_decay": 0.995, "g_lr": 5e-4, "d_lr": 5e-4},
    # finalists (3 CPU-minutes)
    "w16-lr1e3-b32": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "g_lr": 1e-3, "d_lr": 1e-3, "batch_size": 32},
    "w24-lr1e3-b32": {"g_width": 24, "d_width": 24, "ema_decay": 0.995, "g_lr": 1e-3, "d_lr": 1e-3, "batch_size": 32},
    "w16-lr1e3-b32-hinge": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "g_lr": 1e-3, "d_lr": 1e-3,
                            "batch_size": 32, "loss": "hinge"},
    # the default recipe with DiffAugment (colour is meaningless for grey digits)
    "w16-lr1e3-b32-daug": {"g_width": 16, "d_width": 16, "ema_decay": 0.995, "g_lr": 1e-3, "d_lr": 1e-3,
                           "batch_size": 32, "diffaugment": "translation,cutout"},
}
SIDE_EMAS = (0.98, 0.99, 0.999)


def machine() -> dict:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
        model += " (avx512_bf16)" if "avx512_bf16" in flags else ""
    except (OSError, StopIteration):
        pass
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(), "torch": torch.__version__,
            "threads": torch.get_num_threads()}


def track_side_emas(trainer, decays) -> dict:
    """Extra weight averages of G, updated after every G step like the trainer's own."""
    from ganstyle.gan.ema import EMA

    side = {d: EMA(trainer.G, d, start=trainer.cfg.ema_start) for d in decays if d != trainer.cfg.ema_decay}
    g_step = trainer.g_step

    def g_step_and_average():
        g_step()
        for ema in side.values():
            ema.update(trainer.G, trainer.step + 1)  # the step this G update completes

    trainer.g_step = g_step_and_average
    return side


def generator_of(G, seed_default: int):
    from ganstyle.gan.generator import generate_from

    return lambda n, seed=seed_default: generate_from(G, n, seed=seed)


def refinement_rows(run_dir: Path, prepared, args, seed: int) -> dict:
    """The run's EMA generator sampled plain and refined by its own discriminator, all measured."""
    from ganstyle.errors import GanstyleError
    from ganstyle.gan.generator import load_generator
    from ganstyle.gan.refine import refine_run

    g = load_generator(run_dir)
    out = {"none": mp.measure(g, prepared, n=args.eval_n, seed=seed)}
    # exact DRS (ganstyle's default), DRS with the paper's gamma at the 95th percentile of F, MH with 20 steps
    for label, method, quantile in (("drs", "drs", None), ("drs-q0.95", "drs", 0.95), ("mh", "mh", None)):
        c0 = time.process_time()
        try:
            refined = refine_run(g, args.eval_n, method, seed=seed, drs_quantile=quantile)
        except GanstyleError as exc:
            out[label] = {"error": str(exc)}
            continue
        scores = mp.measure(refined.samples, prepared, n=args.eval_n, seed=seed)
        out[label] = {**scores, "acceptance": refined.acceptance, "proposals": refined.proposals,
                       "refine_cpu_seconds": time.process_time() - c0,
                       "calibration": [refined.calibration.a, refined.calibration.b]}
    return out


def run_row(name: str, prepared, args, seed: int) -> dict:
    from ganstyle.gan.trainer import GANTrainer

    overrides = dict(RECIPES[name])
    precision = overrides.pop("precision", args.precision)
    run_dir = Path(args.workdir) / f"{name}-n{prepared.n_train}-s{seed}-{precision}-{args.budget:.0f}"
    shutil.rmtree(run_dir, ignore_errors=True)
    load0 = os.getloadavg()[0]
    trainer = GANTrainer(mp.train_config(prepared, model="dcgan", seed=seed, precision=precision, **overrides),
                         run_dir, dataset=prepared.train)
    side = track_side_emas(trainer, args.side_emas)
    timing = mp.train_for_cpu(trainer, args.budget)
    row = {"row": name, "n_train": prepared.n_train, "seed": seed, "budget_cpu_s": args.budget,
           "dtype": precision, "dtype_used": trainer.precision, "overrides": RECIPES[name],
           "config": {k: v for k, v in vars(trainer.cfg).items() if not hasattr(v, "__dataclass_fields__")},
           **timing, "load_avg_start": load0, "load_avg_end": os.getloadavg()[0],
           **mp.measure(trainer, prepared, n=args.eval_n, seed=seed)}
    # FID of the raw generator and of the other weight averages, same samples' seed
    row["fid_by_ema"] = {"raw": mp.measure(generator_of(trainer.G, seed), prepared, n=args.eval_n, seed=seed,
                                           metrics=("fid",))["fid"]}
    for decay, ema in side.items():
        row["fid_by_ema"][str(decay)] = mp.measure(generator_of(ema.model, seed), prepared, n=args.eval_n,
                                                   seed=seed, metrics=("fid",))["fid"]
    row["fid_by_ema"][str(trainer.cfg.ema_decay)] = row["fid"]
    row["run_dir"] = str(run_dir.resolve())  # its samples/ hold the final fixed-noise grid
    if args.refine:
        row["refine"] = refinement_rows(run_dir, prepared, args, seed)
    return row


def portable(text: str, args, data_dir: str) -> str:
    """Results without this machine's folders: the protocol and run folders become placeholders."""
    for folder, name in ((args.workdir, "<workdir>"), (data_dir, "<data-dir>")):
        text = text.replace(str(Path(folder).resolve()), name)
    return text


def entry_key(r: dict) -> str:
    return f"{r['row']}|n{r['n_train']}|s{r['seed']}|{r['budget_cpu_s']:.0f}|{r['dtype']}"


def fmt(v, spec: str) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def mean_se(values: list) -> tuple[float, float]:
    """Mean and standard error of the mean (sample standard deviation / sqrt(n); 0 for one value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


# (key, format, column title); "classes" is class_coverage x 10: classes with >= 2 % of the samples
SUMMARY_METRICS = (("steps", ".0f", "G steps"), ("fid", ".1f", "FID ↓"), ("kid", ".0f", "KID ↓"),
                   ("precision", ".3f", "P"), ("recall", ".3f", "R"), ("classes", ".1f", "classes ≥2 %"),
                   ("rkl", ".3f", "KL to uniform"))


def summary(results: dict, min_seeds: int = 2) -> list[dict]:
    """Entries that differ only by seed, pooled: mean and standard error of each metric over the seeds
    (groups with fewer than ``min_seeds`` seeds are left out)."""
    groups: dict[tuple, list[dict]] = {}
    for r in results["rows"].values():
        groups.setdefault((r["row"], r["n_train"], r["budget_cpu_s"], r["dtype"]), []).append(r)
    out = []
    for (name, n_train, budget, dtype), rows in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        if len(rows) < min_seeds:
            continue
        entry = {"row": name, "n_train": n_train, "budget_cpu_s": budget, "dtype": dtype,
                 "dtype_used": rows[0]["dtype_used"], "seeds": sorted(r["seed"] for r in rows)}
        for metric, *_ in SUMMARY_METRICS + (("cpu_seconds",),):
            key = "class_coverage" if metric == "classes" else metric
            entry[metric] = mean_se([float(r[key]) * (10 if metric == "classes" else 1) for r in rows])
        out.append(entry)
    return out


def summary_markdown(entries: list[dict]) -> list[str]:
    head = " | ".join(title for *_, title in SUMMARY_METRICS)
    lines = ["", "Mean ± standard error over seeds:", "",
             f"| recipe | train digits | CPU s | dtype | seeds | {head} |", "|---" * (5 + len(SUMMARY_METRICS)) + "|"]
    for e in entries:
        cells = " | ".join(f"{format(e[m][0], spec)} ± {format(e[m][1], spec)}" for m, spec, _ in SUMMARY_METRICS)
        lines.append(f"| {e['row']} | {e['n_train']} | {e['cpu_seconds'][0]:.0f} | {e['dtype_used']} | "
                     f"{','.join(map(str, e['seeds']))} | {cells} |")
    return lines


def markdown(results: dict) -> str:
    lines = ["| recipe | train digits | seed | CPU s | precision | G steps | FID ↓ | KID ↓ | precision | recall | "
             "classes ≥2 % | confident classes | KL to uniform | FID raw / other EMAs |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    rows = sorted(results["rows"].values(), key=lambda r: (r["n_train"], r["budget_cpu_s"], r.get("fid", 1e9)))
    for r in rows:
        others = ", ".join(f"{k}: {v:.1f}" for k, v in r.get("fid_by_ema", {}).items() if k != str(r["config"]["ema_decay"]))
        lines.append(f"| {r['row']} | {r['n_train']} | {r['seed']} | {r['cpu_seconds']:.0f} | {r['dtype_used']} | "
                     f"{r['steps']} | {fmt(r['fid'], '.1f')} | {fmt(r['kid'], '.1f')} | {fmt(r['precision'], '.3f')} | "
                     f"{fmt(r['recall'], '.3f')} | {r['class_coverage'] * 10:.0f}/10 | {r['modes']:.0f} | "
                     f"{fmt(r['rkl'], '.3f')} | {others} |")
    for key, ref in results.get("reference", {}).items():
        lines.append(f"| real pool digits ({key}) | – | {ref['seed']} | – | – | – | {ref['fid']:.1f} | {ref['kid']:.1f} | "
                     f"{ref['precision']:.3f} | {ref['recall']:.3f} | {ref['class_coverage'] * 10:.0f}/10 | "
                     f"{ref['modes']:.0f} | {ref['rkl']:.3f} | |")
    pooled = summary(results)
    if pooled:
        lines += summary_markdown(pooled)
    refine = [r for r in rows if "refine" in r]
    if refine:
        lines += ["", "| model | sampling | FID ↓ | precision | recall | classes ≥2 % | acceptance |", "|---|---|---|---|---|---|---|"]
        for r in refine:
            for method, s in r["refine"].items():
                if "error" in s:
                    lines.append(f"| {entry_key(r).replace('|', ' ')} | {method} | {s['error']} | | | | |")
                    continue
                lines.append(f"| {entry_key(r).replace('|', ' ')} | {method} | {s['fid']:.1f} | {s['precision']:.3f} | {s['recall']:.3f} | "
                             f"{s['class_coverage'] * 10:.0f}/10 | {fmt(s.get('acceptance'), '.1%')} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist", required=True, help="folder with the MNIST test IDX files, e.g. ../shared/data/mnist")
    p.add_argument("--rows", default=BASELINE, help=f"comma-separated from {', '.join(RECIPES)}")
    p.add_argument("--n-train", default="8000", help="comma-separated training-folder sizes (of the 8,000-digit pool)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds")
    p.add_argument("--budget", type=float, default=180.0, help="training CPU-seconds per run (one thread)")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                   help="for rows that do not fix their own (the baseline is fp32)")
    p.add_argument("--side-emas", default=",".join(map(str, SIDE_EMAS)),
                   help="extra EMA decays whose FIDs are recorded (empty: none)")
    p.add_argument("--eval-n", type=int, default=mp.HELDOUT_SIZE)
    p.add_argument("--refine", action="store_true", help="also sample each trained model with --refine drs and mh")
    p.add_argument("--refine-existing", action="store_true",
                   help="no training: add the refinement rows to entries trained earlier (their run dirs must exist)")
    p.add_argument("--no-reference", action="store_true", help="skip the real-digits reference row")
    p.add_argument("--out", default="runs/bench/digits_recipes")
    p.add_argument("--workdir", default=None, help="run directories (default OUT/runs)")
    p.add_argument("--data-dir", default=None, help="protocol folder: split, PNGs, classifier (default OUT/data)")
    args = p.parse_args(argv)
    rows = [r for r in args.rows.split(",") if r]
    unknown = [r for r in rows if r not in RECIPES]
    if unknown:
        p.error(f"unknown row(s) {unknown}; choose from {list(RECIPES)}")
    args.side_emas = [float(d) for d in args.side_emas.split(",") if d]
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    args.workdir = args.workdir or str(out / "runs")
    data_dir = args.data_dir or str(out / "data")
    path = out / "digits_recipes.json"
    results = json.loads(path.read_text()) if path.is_file() else {"rows": {}, "reference": {}}
    results["machine"] = machine()
    results["budget_definition"] = ("process CPU seconds (time.process_time) with one thread; wall time is "
                                    "inflated by other jobs on the machine and not used")
    for n_train in (int(n) for n in args.n_train.split(",")):
        prepared = mp.prepare(args.mnist, data_dir, n_train=n_train)
        results["classifier"] = prepared.classifier_info
        for seed in (int(s) for s in args.seeds.split(",")):
            if not args.no_reference and f"seed {seed}" not in results["reference"]:
                results["reference"][f"seed {seed}"] = mp.reference(prepared, n=args.eval_n, seed=seed)
            for name in rows:
                key = entry_key({"row": name, "n_train": n_train, "seed": seed, "budget_cpu_s": args.budget,
                                 "dtype": RECIPES[name].get("precision", args.precision)})
                if args.refine_existing:  # refine a model trained by an earlier invocation
                    r = results["rows"][key]
                    run_dir = Path(r["run_dir"].replace("<workdir>", str(Path(args.workdir).resolve())))
                    r["refine"] = refinement_rows(run_dir, prepared, args, seed)
                else:
                    r = run_row(name, prepared, args, seed)
                results["rows"][entry_key(r)] = r
                print(f"{entry_key(r):40s} {r['steps']:5d} steps {r['cpu_seconds']:5.0f} CPU-s "
                      f"({r['wall_seconds']:.0f} s wall)  FID {r['fid']:7.2f}  P {r['precision']:.3f} "
                      f"R {r['recall']:.3f}  classes {r['class_coverage'] * 10:.0f}/10  by EMA "
                      + " ".join(f"{k}:{v:.1f}" for k, v in r["fid_by_ema"].items()), flush=True)
                results["summary"] = summary(results)  # mean, s.e. over seeds; the per-seed entries stay in "rows"
                path.write_text(portable(json.dumps(results, indent=1, default=str), args, data_dir) + "\n")
                (out / "digits_recipes.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
