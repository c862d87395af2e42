"""Model-zoo benchmark: every family trained for the same wall-clock CPU budget, then measured.

For each row: build the run with :class:`ganstyle.gan.trainer.GANTrainer`, train with the
trainer's own loop until the budget is spent (it stops after the first generator step that
ends past the budget, then writes its sample grid and checkpoint), score the EMA generator with
:func:`ganstyle.metrics.evaluate.evaluate_generator` against the training images — FID,
KID, IS, precision/recall and class coverage with the digits classifier extractor (the
Inception extractor for 3-channel data). Class-conditional rows also report the fraction
of class-``c`` samples that the digits classifier labels ``c``. A reference row scores the
held-out digits test split the same way (the floor a perfect generator would reach with
that many images).

Writes ``zoo.json`` (every number and the full configs), ``zoo.md`` (the table) and one
sample grid per row (``<row>.png``; per-class grids for conditional rows).

    python benchmarks/zoo.py --budget 180 --threads 2 --out runs/bench/zoo      # the README table
    python benchmarks/zoo.py --rows sngan,cond --budget 30                        # a quick look
    python benchmarks/zoo.py --data mnist --image-size 32 --budget 300            # another dataset
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# Row name -> TrainConfig overrides. Widths are chosen so every family costs a similar time
# per image on a CPU; everything else is the family's own default (see its module).
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
METRICS = ["fid", "kid", "is", "pr", "modes"]


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def train_for(trainer, budget: float) -> dict:
    """Run the trainer's own loop, ending it at the first G step that finishes past ``budget``."""
    g_step, start = trainer.g_step, time.perf_counter()

    def timed_g_step():
        g_step()
        if time.perf_counter() - start >= budget:
            trainer.cfg.steps = trainer.step + 1  # the loop ends (with samples + checkpoint) after this step

    trainer.g_step = timed_g_step
    t0 = time.perf_counter()
    trainer.train(progress=False)
    seconds = time.perf_counter() - t0
    return {"steps": trainer.step, "train_seconds": seconds,
            "img_per_s": trainer.step * trainer.cfg.batch_size / seconds}


@torch.no_grad()
def conditional_accuracy(trainer, per_class: int, seed: int) -> float | None:
    """Fraction of class-c samples the domain classifier labels c (None: no classifier for this data)."""
    from ganstyle.gan.sampling import generate_from
    from ganstyle.metrics.extractors import CLASSIFIER_DATASETS, classifier_extractor

    name = trainer.dataset.name.lower()
    if name not in CLASSIFIER_DATASETS or trainer.data_shape[0] != 1:
        return None
    k = trainer.num_classes
    labels = torch.arange(k).repeat_interleave(per_class)
    x = generate_from(trainer.G_ema.model, len(labels), seed=seed, labels=labels, device=trainer.device)
    _, logits = classifier_extractor(name).run(x)
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


def run_row(name: str, overrides: dict, dataset, args, workdir: Path, out: Path) -> dict:
    from ganstyle.gan.sampling import sample
    from ganstyle.gan.trainer import GANTrainer, TrainConfig
    from ganstyle.metrics.evaluate import evaluate_generator

    cfg = TrainConfig(data=args.data, image_size=args.image_size, precision=args.precision, seed=args.seed,
                      device="cpu", steps=10**9, log_every=50, sample_every=0, ckpt_every=0, keep_checkpoints=1,
                      **overrides)
    trainer = GANTrainer(cfg, workdir / name, dataset=dataset)
    params_g, params_d = count(trainer.G), count(trainer.D)
    budget = args.row_budget.get(name, args.budget)
    timing = train_for(trainer, budget)
    t0 = time.perf_counter()
    scores = evaluate_generator(trainer.generate, dataset, METRICS, n=args.eval_n, seed=args.seed)
    row = {"row": name, "overrides": overrides, "config": {k: v for k, v in vars(trainer.cfg).items()},
           "budget_s": budget, **timing, "params_g": params_g, "params_d": params_d, **scores,
           "eval_seconds": time.perf_counter() - t0}
    sigmas = spectral_norm_sigmas(trainer.D)
    if sigmas:
        row.update(sn_layers=len(sigmas), sn_sigma_min=min(sigmas), sn_sigma_max=max(sigmas))
    grid = sorted((workdir / name / "samples").glob("*.png"))[-1]
    shutil.copy(grid, out / f"{name}.png")
    if trainer.num_classes:
        row["class_accuracy"] = conditional_accuracy(trainer, args.per_class, args.seed)
        sample(workdir / name, out=out / f"{name}_per_class.png", per_class=10, seed=args.seed)
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
    lines = [f"Data: {args.data} at {args.image_size} px; each model trains for its budget of wall-clock seconds "
             f"on {args.threads} CPU thread(s) ({args.precision}), seed {args.seed}; metrics on {args.eval_n} "
             f"EMA-generator samples vs the training images ({'digits-classifier' if args.data == 'digits' else 'default'}"
             " extractor).", "",
             "| model | budget s | G steps (batch) | img/s | G / D params | FID ↓ | KID ↓ | IS ↑ | precision | "
             "recall | classes | class acc. |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        params = f"{r['params_g'] / 1e6:.2f}M / {r['params_d'] / 1e6:.2f}M" if "params_g" in r else "–"
        steps = f"{r['steps']} ({r['config']['batch_size']})" if r.get("steps") else "–"
        lines.append(
            f"| {r['row']} | {fmt(r.get('budget_s'), '.0f')} | {steps} | {fmt(r.get('img_per_s'), '.0f')} | "
            f"{params} | {fmt(r.get('fid'), '.2f')} | {fmt(r.get('kid'), '.3g')} | {fmt(r.get('is'), '.2f')} | "
            f"{fmt(r.get('precision'), '.3f')} | {fmt(r.get('recall'), '.3f')} | {fmt(r.get('modes'), '.0f')} | "
            f"{fmt(r.get('class_accuracy'), '.1%')} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default=",".join(r for r in ROWS if r != "sngan+diffaug"),
                   help=f"comma-separated from {', '.join(ROWS)}")
    p.add_argument("--data", default="digits", help="any ganstyle dataset spec, e.g. digits, mnist, folder:PATH")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--budget", type=float, default=180.0, help="training seconds per row")
    p.add_argument("--row-budget", action="append", default=[], metavar="ROW=SECONDS",
                   help="a different budget for one row (repeatable), e.g. cond=360")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", default="bf16", choices=("fp32", "bf16"))
    p.add_argument("--eval-n", type=int, default=2000, help="generated samples per evaluation")
    p.add_argument("--per-class", type=int, default=100, help="samples per class for the class accuracy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/bench/zoo")
    args = p.parse_args(argv)
    names = [r for r in args.rows.split(",") if r]
    try:
        args.row_budget = {k: float(v) for k, v in (item.split("=") for item in args.row_budget)}
    except ValueError:
        p.error("--row-budget: use ROW=SECONDS, e.g. cond=360")
    unknown = [r for r in names if r not in ROWS]
    if unknown:
        p.error(f"unknown row(s) {unknown}; choose from {list(ROWS)}")
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
            print(f"{name:14s} {r['steps']:5d} steps {r['img_per_s']:6.0f} img/s  FID {r['fid']:7.2f}  "
                  f"KID {r['kid']:.3g}  IS {r['is']:.2f}  P {r['precision']:.3f} R {r['recall']:.3f}"
                  + (f"  class acc {r['class_accuracy']:.1%}" if r.get("class_accuracy") is not None else "")
                  + (f"  SN sigma {r['sn_sigma_min']:.4f}..{r['sn_sigma_max']:.4f} ({r['sn_layers']} layers)"
                     if "sn_layers" in r else ""),
                  flush=True)
            _write(out, rows, ref, args)
    print(markdown(rows + ([ref] if ref else []), args))
    print(f"wrote {out}")


def _write(out: Path, rows: list[dict], ref: dict | None, args) -> None:
    table_rows = rows + ([ref] if ref else [])
    (out / "zoo.json").write_text(json.dumps({"settings": vars(args), "rows": table_rows}, indent=2, default=str) + "\n")
    (out / "zoo.md").write_text(markdown(table_rows, args))


if __name__ == "__main__":
    main()
