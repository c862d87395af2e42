"""Model-zoo benchmark: every family trained for the same budget of process CPU time, then measured.

Two modes, one loop per row: build the run with :class:`ganstyle.gan.trainer.GANTrainer`, train
with the trainer's own loop until the row's budget of **process CPU seconds** is spent
(:func:`mnist_protocol.train_for_cpu`: it stops after the first generator step that ends past the
budget, then writes its sample grid and checkpoint; CPU time, not wall time, so jobs sharing the
machine do not shrink a row), then score the EMA generator. Class-conditional rows also report
the fraction of class-``c`` samples that the classifier labels ``c``.

**MNIST mode** (``--mnist DIR``, the README table): the shared protocol of
``benchmarks/mnist_protocol.py`` — the first 8,000 real MNIST test digits as a 32 px training
folder, metrics (FID, KID, precision/recall, class coverage) against the last 2,000, with
ganstyle's digits classifier trained on the 8,000 only. Every family runs with its own defaults
(no width or optimiser flags: what ``ganstyle train --data folder:... --model FAMILY`` does), one
thread, at each ``--budgets`` value. Results accumulate in ``zoo_mnist.json`` (a row re-run with
the same budget replaces its old entry), so rows can run one process at a time; they name the
protocol's data folder ``DATA_DIR`` (``folder:DATA_DIR/train8000``), never a path of the machine:

    OMP_NUM_THREADS=1 python benchmarks/zoo.py --mnist ../shared/data/mnist --budgets 180,900 \
        --out benchmarks/results/zoo_mnist

**Dataset mode** (``--data``, default the bundled digits): rows with fixed widths (``ROWS``),
scored against the training images with the dataset's extractor; a reference row scores the
held-out digits test split the same way.

    python benchmarks/zoo.py --rows sngan,cond --budget 30 --threads 1
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import mnist_protocol as mp  # noqa: E402  (a benchmark beside this one)

# Dataset mode: row name -> TrainConfig overrides. Widths are chosen so every family costs a similar
# time per image on a CPU; everything else is the family's own default (see its module).
ROWS: dict[str, dict] = {
    "dcgan": {"model": "dcgan", "g_width": 32, "d_width": 32},  # the foundation's baseline
    "dcgan-cond": {"model": "dcgan", "g_width": 32, "d_width": 32, "conditional": True},
    "sngan": {"model": "sngan", "g_width": 16, "d_width": 16},
    "sngan+diffaug": {"model": "sngan", "g_width": 16, "d_width": 16, "diffaugment": "translation,cutout"},
    "sagan": {"model": "sagan", "g_width": 16, "d_width": 16},
    "cond": {"model": "cond", "g_width": 16, "d_width": 16},
    "biggan": {"model": "biggan", "g_width": 16, "d_width": 16},
    "stylegan-lite": {"model": "stylegan-lite", "g_width": 16, "d_width": 16},
}
# MNIST mode: every family with its defaults, nothing else.
FAMILIES = ("dcgan", "sngan", "sagan", "cond", "biggan", "stylegan-lite")
# MNIST mode: how the results name the protocol's data folder (--data-dir), so they hold no machine paths.
DATA_DIR = "DATA_DIR"
METRICS = ["fid", "kid", "is", "pr", "modes"]


def without_paths(value, folder: Path, placeholder: str = DATA_DIR):
    """``value`` (JSON-like) with every spelling of ``folder`` in its strings replaced by ``placeholder``."""
    if isinstance(value, dict):
        return {k: without_paths(v, folder, placeholder) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_paths(v, folder, placeholder) for v in value]
    if isinstance(value, str):
        for spelling in sorted({str(folder), str(folder.resolve())}, key=len, reverse=True):
            value = value.replace(spelling, placeholder)
    return value


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def class_accuracy(trainer, extractor, per_class: int, seed: int) -> float:
    """Fraction of class-c samples the classifier ``extractor`` labels c."""
    from ganstyle.gan.sampling import generate_from
    from ganstyle.metrics.features import quantize

    labels = torch.arange(trainer.num_classes).repeat_interleave(per_class)
    x = generate_from(trainer.G_ema.model, len(labels), seed=seed, labels=labels, device=trainer.device)
    _, logits = extractor.run(quantize(x))
    return float((torch.from_numpy(logits).argmax(1) == labels).float().mean())


@torch.no_grad()
def spectral_norm_sigmas(D) -> list[float]:
    """Exact largest singular value of every spectrally normalised weight of a trained D (eval mode:
    the stored power-iteration vectors, as used at the last step)."""
    from ganstyle.gan.layers import largest_singular_value

    was = D.training
    D.eval()
    sigmas = [largest_singular_value(m.weight) for m in D.modules()
              if hasattr(m, "parametrizations") and "weight" in m.parametrizations]
    D.train(was)
    return sigmas


def describe(trainer, timing: dict, out: Path, stem: str) -> dict:
    """What every row records besides its scores; copies the final sample grid to ``out/stem.png``."""
    from ganstyle.gan.sampling import sample

    cfg = trainer.cfg
    row = {"config": dict(vars(cfg)), "compute": trainer.precision, "batch_size": cfg.batch_size,
           "g_width": cfg.g_width, "d_width": cfg.d_width, **timing,
           "params_g": count(trainer.G), "params_d": count(trainer.D)}
    sigmas = spectral_norm_sigmas(trainer.D)
    if sigmas:
        row.update(sn_layers=len(sigmas), sn_sigma_min=min(sigmas), sn_sigma_max=max(sigmas))
    shutil.copy(sorted((trainer.run_dir / "samples").glob("*.png"))[-1], out / f"{stem}.png")
    if trainer.num_classes:
        sample(trainer.run_dir, out=out / f"{stem}_per_class.png", per_class=10, seed=cfg.seed, overwrite=True)
    return row


# ------------------------------------------------------------------ MNIST mode


def mnist_main(args, names: list[str]) -> None:
    torch.set_num_threads(1)  # the protocol's CPU-second is one thread's
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    prep = mp.prepare(args.mnist, args.data_dir, n_train=mp.POOL_SIZE)
    path = out / "zoo_mnist.json"
    doc = json.loads(path.read_text()) if path.is_file() else {"rows": []}
    doc["protocol"] = {"train": f"first {prep.n_train} MNIST test digits, 32 px (padded)",
                       "heldout": f"last {mp.HELDOUT_SIZE} MNIST test digits", "eval_n": args.eval_n,
                       "seed": args.seed, "threads": 1, "budget_unit": "process CPU seconds",
                       "classifier": prep.classifier_info}
    if "reference" not in doc:
        doc["reference"] = without_paths(mp.reference(prep, n=args.eval_n, seed=args.seed), prep.out_dir)
    for budget in args.budgets:
        for name in names:
            stem = f"{name}_{budget:.0f}s"
            with tempfile.TemporaryDirectory() as tmp:
                trainer, timing = mp.train_run(prep, Path(tmp) / stem, cpu_seconds=budget, model=name,
                                               seed=args.seed)
                scores = mp.measure(trainer, prep, n=args.eval_n, seed=args.seed)
                row = {"row": name, "budget_cpu_s": budget, **describe(trainer, timing, out, stem), **scores}
                if trainer.num_classes:
                    row["class_accuracy"] = class_accuracy(trainer, prep.extractor, args.per_class, args.seed)
            row = without_paths(json.loads(json.dumps(row, default=str)), prep.out_dir)
            doc["rows"] = [r for r in doc["rows"] if (r["row"], r["budget_cpu_s"]) != (name, budget)] + [row]
            doc["rows"].sort(key=lambda r: (r["budget_cpu_s"], FAMILIES.index(r["row"])))
            path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
            (out / "zoo_mnist.md").write_text(mnist_markdown(doc))
            print(f"{stem:20s} {row['steps']:5d} steps  cpu {row['cpu_seconds']:.0f}s  FID {row['fid']:.2f}  "
                  f"P {row['precision']:.3f} R {row['recall']:.3f}  coverage {row['class_coverage']:.0%}", flush=True)
    print(mnist_markdown(doc))


def mnist_markdown(doc: dict) -> str:
    p = doc["protocol"]
    lines = [f"MNIST protocol: train on the {p['train']}; {p['eval_n']} samples of the averaged generator measured "
             f"against the {p['heldout']} (classifier features); seed {p['seed']}; budget in {p['budget_unit']}, "
             "1 thread; every family with its own defaults.", "",
             "| model | CPU budget | G steps (batch) | width G/D | compute | FID ↓ | KID ↓ | precision | recall | "
             "classes covered | class acc. |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        lines.append(f"| {r['row']} | {r['budget_cpu_s'] / 60:.0f} min | {r['steps']} ({r['batch_size']}) | "
                     f"{r['g_width']}/{r['d_width']} | {r['compute']} | {fmt(r.get('fid'), '.1f')} | "
                     f"{fmt(r.get('kid'), '.3g')} | {fmt(r.get('precision'), '.2f')} | {fmt(r.get('recall'), '.2f')} | "
                     f"{fmt(r.get('class_coverage'), '.0%')} | {fmt(r.get('class_accuracy'), '.1%')} |")
    ref = doc.get("reference")
    if ref:
        lines.append(f"| real digits (training pool) | – | – | – | – | {fmt(ref.get('fid'), '.1f')} | "
                     f"{fmt(ref.get('kid'), '.3g')} | {fmt(ref.get('precision'), '.2f')} | "
                     f"{fmt(ref.get('recall'), '.2f')} | {fmt(ref.get('class_coverage'), '.0%')} | – |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ dataset mode


def run_row(name: str, overrides: dict, dataset, args, workdir: Path, out: Path) -> dict:
    from ganstyle.gan.trainer import GANTrainer, TrainConfig
    from ganstyle.metrics.evaluate import evaluate_generator
    from ganstyle.metrics.extractors import CLASSIFIER_DATASETS, classifier_extractor

    cfg = TrainConfig(data=args.data, image_size=args.image_size, precision=args.precision, seed=args.seed,
                      device="cpu", steps=10**9, log_every=50, sample_every=0, ckpt_every=0, keep_checkpoints=1,
                      **overrides)
    trainer = GANTrainer(cfg, workdir / name, dataset=dataset)
    budget = args.row_budget.get(name, args.budget)
    timing = mp.train_for_cpu(trainer, budget)
    t0 = time.process_time()
    scores = evaluate_generator(trainer.generate, dataset, METRICS, n=args.eval_n, seed=args.seed)
    row = {"row": name, "overrides": overrides, "budget_s": budget, **describe(trainer, timing, out, name), **scores,
           "eval_cpu_seconds": time.process_time() - t0}
    domain = dataset.name.lower()
    if trainer.num_classes and domain in CLASSIFIER_DATASETS and trainer.data_shape[0] == 1:
        row["class_accuracy"] = class_accuracy(trainer, classifier_extractor(domain), args.per_class, args.seed)
    return row


def reference_row(args, dataset) -> dict | None:
    """The held-out test split scored like a generator: the best a model can do with these sizes."""
    from ganstyle.data import load_dataset
    from ganstyle.metrics.evaluate import evaluate_generator

    if args.data != "digits":
        return None
    test = load_dataset("digits", image_size=args.image_size, split="test")
    scores = evaluate_generator(lambda n: test.x[:n], dataset, METRICS, n=args.eval_n, seed=args.seed)
    return {"row": f"real digits, test split ({len(test)} images)", "steps": 0, **scores}


def fmt(v, spec: str, scale: float = 1.0) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v * scale, spec)


def markdown(rows: list[dict], args) -> str:
    lines = [f"Data: {args.data} at {args.image_size} px; each model trains for its budget of process CPU seconds "
             f"on {args.threads} CPU thread(s) ({args.precision}), seed {args.seed}; metrics on {args.eval_n} "
             f"EMA-generator samples vs the training images ({'digits-classifier' if args.data == 'digits' else 'default'}"
             " extractor).", "",
             "| model | CPU budget s | G steps (batch) | img per CPU s | G / D params | FID ↓ | KID ↓ | IS ↑ | precision | "
             "recall | classes | class acc. |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        params = f"{r['params_g'] / 1e6:.2f}M / {r['params_d'] / 1e6:.2f}M" if "params_g" in r else "–"
        steps = f"{r['steps']} ({r['batch_size']})" if r.get("steps") else "–"
        lines.append(
            f"| {r['row']} | {fmt(r.get('budget_s'), '.0f')} | {steps} | {fmt(r.get('img_per_cpu_s'), '.0f')} | "
            f"{params} | {fmt(r.get('fid'), '.2f')} | {fmt(r.get('kid'), '.3g')} | {fmt(r.get('is'), '.2f')} | "
            f"{fmt(r.get('precision'), '.3f')} | {fmt(r.get('recall'), '.3f')} | {fmt(r.get('modes'), '.0f')} | "
            f"{fmt(r.get('class_accuracy'), '.1%')} |")
    return "\n".join(lines) + "\n"


def dataset_main(args, names: list[str]) -> None:
    torch.set_num_threads(args.threads)
    from ganstyle.gan.trainer import TrainConfig, load_training_data

    dataset = load_training_data(TrainConfig(data=args.data, image_size=args.image_size, seed=args.seed))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    ref = reference_row(args, dataset)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            r = run_row(name, ROWS[name], dataset, args, Path(tmp), out)
            rows.append(r)
            print(f"{name:14s} {r['steps']:5d} steps {r['img_per_cpu_s']:6.0f} img/CPU-s  FID {r['fid']:7.2f}  "
                  f"KID {r['kid']:.3g}  IS {r['is']:.2f}  P {r['precision']:.3f} R {r['recall']:.3f}"
                  + (f"  class acc {r['class_accuracy']:.1%}" if r.get("class_accuracy") is not None else "")
                  + (f"  SN sigma {r['sn_sigma_min']:.4f}..{r['sn_sigma_max']:.4f} ({r['sn_layers']} layers)"
                     if "sn_layers" in r else ""),
                  flush=True)
            table_rows = rows + ([ref] if ref else [])
            (out / "zoo.json").write_text(json.dumps({"settings": vars(args), "rows": table_rows}, indent=2,
                                                     default=str) + "\n")
            (out / "zoo.md").write_text(markdown(table_rows, args))
    print(markdown(rows + ([ref] if ref else []), args))
    print(f"wrote {out}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default=None, help=f"comma-separated; MNIST mode: from {', '.join(FAMILIES)} (default "
                   f"all); dataset mode: from {', '.join(ROWS)}")
    p.add_argument("--mnist", default=None, metavar="DIR", help="MNIST mode: the folder with the MNIST test IDX files")
    p.add_argument("--data-dir", default="runs/bench/mnist_protocol", help="MNIST mode: the protocol's cache folder")
    p.add_argument("--budgets", default="180,900", help="MNIST mode: CPU seconds per row, comma-separated")
    p.add_argument("--data", default="digits", help="dataset mode: any ganstyle dataset spec, e.g. digits, folder:PATH")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--budget", type=float, default=180.0, help="dataset mode: CPU seconds per row")
    p.add_argument("--row-budget", action="append", default=[], metavar="ROW=SECONDS",
                   help="dataset mode: a different budget for one row (repeatable), e.g. cond=360")
    p.add_argument("--threads", type=int, default=1, help="dataset mode: torch threads (MNIST mode: always 1)")
    p.add_argument("--precision", default="bf16", choices=("fp32", "bf16"), help="dataset mode")
    p.add_argument("--eval-n", type=int, default=2000, help="generated samples per evaluation")
    p.add_argument("--per-class", type=int, default=100, help="samples per class for the class accuracy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/bench/zoo")
    args = p.parse_args(argv)
    choices = FAMILIES if args.mnist else tuple(ROWS)
    default = FAMILIES if args.mnist else [r for r in ROWS if r != "sngan+diffaug"]
    names = [r for r in args.rows.split(",") if r] if args.rows else list(default)
    unknown = [r for r in names if r not in choices]
    if unknown:
        p.error(f"unknown row(s) {unknown}; choose from {list(choices)}")
    if args.mnist:
        try:
            args.budgets = [float(b) for b in args.budgets.split(",") if b]
        except ValueError:
            p.error("--budgets: CPU seconds, comma-separated, e.g. 180,900")
        return mnist_main(args, names)
    try:
        args.row_budget = {k: float(v) for k, v in (item.split("=") for item in args.row_budget)}
    except ValueError:
        p.error("--row-budget: use ROW=SECONDS, e.g. cond=360")
    dataset_main(args, names)


if __name__ == "__main__":
    main()
