"""Unpaired translation on digits -> coloured digits at 32 px, for a fixed CPU budget per model.

CycleGAN and MUNIT-lite each train until their process CPU time reaches ``--cpu-minutes``
(measured with ``time.process_time``, so other jobs on the machine do not change the
budget, only the wall time). Both are measured with the same judges (trained once on the
pair, see ``ganstyle.translate.evaluate``) beside two baselines measured in the same run:

- identity: A images passed through unchanged;
- blend: each A digit blended over a random photo crop, the recipe that made domain B
  (so it is the best a translation could look, not a learned result).

Optional ``--paintings DIR``: a photo -> painting CycleGAN trained on random crops of the
photos (tubingen, golden_gate, hoovertowernight) and paintings found in DIR, e.g.
``../shared/data/style``; only its picture is kept.

    OMP_NUM_THREADS=1 python benchmarks/translate.py --cpu-minutes 8 --out runs/bench-translate \
        --paintings ../shared/data/style --painting-cpu-minutes 6
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

import torch

from ganstyle.io.images import list_images, load_image, make_grid, save_image
from ganstyle.translate.data import DomainPair, blend_over_photos, digits_pair, load_domains, photo_sources, random_crops
from ganstyle.translate.evaluate import measure, model_functions, train_judges
from ganstyle.translate.trainer import TranslateConfig, TranslationTrainer, model_config_class

PHOTOS = ("tubingen", "golden_gate", "hoovertowernight")


def train_for(cfg: TranslateConfig, model_cfg, run_dir: Path, cpu_seconds: float, pair: DomainPair) -> TranslationTrainer:
    """Train until this process has used ``cpu_seconds`` of CPU time on it; checkpoint and samples at the end."""
    trainer = TranslationTrainer(cfg, model_cfg, run_dir, pair=pair)
    start = time.process_time()
    while time.process_time() - start < cpu_seconds:
        trainer.train_step()
        trainer.step += 1
        if trainer.step % cfg.log_every == 0:
            trainer.log()
    trainer.cpu_seconds = time.process_time() - start
    trainer.cfg = dataclasses.replace(cfg, steps=trainer.step)
    trainer.log()
    trainer.save_samples()
    trainer.save()
    return trainer


def blend_baseline(seed: int) -> dict:
    """``a2b``: blend over one random photo crop; ``a2b_styles``: k crops per input (the diversity reference)."""
    g = torch.Generator().manual_seed(seed)
    photos = [p for _, p in photo_sources()]

    def a2b(x: torch.Tensor) -> torch.Tensor:
        digits = (x.mean(1, keepdim=True) + 1) / 2
        return blend_over_photos(digits, random_crops(photos, len(x), x.shape[-1], g)) * 2 - 1

    return {"a2b": a2b, "a2b_styles": lambda x, k: torch.stack([a2b(x) for _ in range(k)])}


def picture(model, pair: DomainPair, path: Path, n: int = 8, n_styles: int = 5, seed: int = 0) -> None:
    """Inputs in the first row, then translations (MUNIT: one row per style code)."""
    x = pair.a_test[:n] if pair.a_test is not None else pair.a[:n]
    fns = model_functions(model, seed)
    with torch.no_grad():
        rows = [x] + (list(fns["a2b_styles"](x, n_styles)) if "a2b_styles" in fns else [fns["a2b"](x)])
        if "a2b_styles" not in fns:
            rows.append(fns["b2a"](rows[1]))
    imgs = (torch.cat(rows).clamp(-1, 1) + 1) / 2
    imgs = torch.nn.functional.interpolate(imgs, scale_factor=2, mode="nearest")
    save_image(make_grid(imgs, nrow=n), path)


def painting_crops(folder: Path, out: Path, size: int, n: int, seed: int) -> tuple[Path, Path]:
    """Random crops of the photos (domain A) and of the paintings (domain B) written as PNG folders."""
    g = torch.Generator().manual_seed(seed)
    files = list_images(folder)
    photos = [f for f in files if f.stem in PHOTOS]
    paintings = [f for f in files if f.stem not in PHOTOS]
    if not photos or not paintings:
        raise SystemExit(f"{folder}: needs photos ({', '.join(PHOTOS)}) and paintings")
    dirs = []
    for name, group in (("photos", photos), ("paintings", paintings)):
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        images = [(load_image(f, long_side=5 * size).permute(1, 2, 0).numpy() * 255).astype("uint8") for f in group]
        crops = random_crops(images, n, size, g)
        for i, c in enumerate(crops):
            save_image(c, d / f"{i:04d}.png")
        dirs.append(d)
    return dirs[0], dirs[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpu-minutes", type=float, default=8.0, help="process CPU minutes of training per digits model")
    p.add_argument("--models", default="cyclegan,munit")
    p.add_argument("--out", default="runs/bench-translate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--munit-cycle-weight", type=float, default=10.0)
    p.add_argument("--paintings", default=None, help="folder with the photos and paintings (e.g. ../shared/data/style)")
    p.add_argument("--painting-cpu-minutes", type=float, default=6.0)
    p.add_argument("--painting-size", type=int, default=64)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    results = {"machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                           "torch": torch.__version__}, "cpu_minutes_per_model": args.cpu_minutes, "rows": {}}

    t0 = time.process_time()
    pair = digits_pair(32, args.seed)
    judges = train_judges(pair, args.seed)
    results["judges"] = judges.accuracy
    results["judges_cpu_s"] = time.process_time() - t0
    results["pair"] = pair.meta
    print("judges:", judges.accuracy, flush=True)

    def record(name, figures):
        results["rows"][name] = figures
        print(name, json.dumps(figures), flush=True)
        (out / "results.json").write_text(json.dumps(results, indent=2, default=float) + "\n")

    def flat(res):
        return {r["metric"]: r["value"] for r in res["records"]}

    record("identity", flat(measure(pair, judges, a2b=lambda x: x, b2a=lambda x: x)))
    record("blend", flat(measure(pair, judges, **blend_baseline(args.seed))))
    for model in [m for m in args.models.split(",") if m]:
        model_cfg = model_config_class(model)()
        if model == "munit":
            model_cfg = dataclasses.replace(model_cfg, cycle_weight=args.munit_cycle_weight)
        cfg = TranslateConfig(model=model, steps=10**9, device="cpu", seed=args.seed, sample_every=0, ckpt_every=0)
        trainer = train_for(cfg, model_cfg, out / model, args.cpu_minutes * 60, pair)
        with torch.no_grad():
            figures = flat(measure(pair, judges, **model_functions(trainer.model, args.seed)))
        figures.update(steps=trainer.step, train_cpu_s=round(trainer.cpu_seconds, 1))
        record(model, figures)
        picture(trainer.model, pair, out / f"{model}_digits.png")

    if args.paintings:
        a_dir, b_dir = painting_crops(Path(args.paintings), out / "painting_data", args.painting_size, 400, args.seed)
        pp = load_domains(str(a_dir), str(b_dir), args.painting_size, args.seed)
        cfg = TranslateConfig(model="cyclegan", image_size=args.painting_size, batch_size=4, steps=10**9, device="cpu",
                              seed=args.seed, sample_every=0, ckpt_every=0, log_every=25)
        trainer = train_for(cfg, model_config_class("cyclegan")(), out / "paintings", args.painting_cpu_minutes * 60, pp)
        picture(trainer.model, pp, out / "cyclegan_photo2painting.png", n=6)
        results["paintings"] = {"steps": trainer.step, "train_cpu_s": round(trainer.cpu_seconds, 1),
                                "size": args.painting_size, "crops_per_domain": 400}
        record("paintings_done", results["paintings"])
    print(f"results: {out / 'results.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
