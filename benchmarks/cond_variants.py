"""Short diagnostic runs of the class-conditional family ``cond`` on the shared MNIST protocol.

Each variant changes how the generator or the discriminator of ``cond`` sees the class (or a few
training settings, ``SETTINGS``) and trains for the same budget of process CPU seconds (one thread) with every other setting at
``cond``'s defaults; then it reports, for the averaged generator:

- recall and precision against the held-out digits (``mnist_protocol.measure``);
- the class accuracy: the share of class-``c`` samples the protocol's classifier labels ``c``;
- the within-class spread: the mean distance between two samples of the same class in the
  classifier's feature space, divided by the same for held-out real digits of that class
  (averaged over classes; 1 = as varied as real digits, 0 = one image per class). It is also
  given for the live (not averaged) generator, which tells an averaging artefact from collapse.

    OMP_NUM_THREADS=1 python benchmarks/cond_variants.py --mnist ../shared/data/mnist \\
        --variants defaults,shared128 --budget 90 --out benchmarks/results/zoo_mnist/cond_variants
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import mnist_protocol as mp  # noqa: E402  (a benchmark beside this one)

# variant -> (generator keyword arguments, discriminator keyword arguments) for the ResNet builders
# of ganstyle.gan.models.sngan; None means cond's own builders unchanged.
VARIANTS: dict[str, tuple[dict, dict] | None] = {
    "defaults": None,  # cond's own builders as they are
    # cond before this benchmark: per-class BN tables (zero at the start) plus a class embedding concatenated to z
    "input-embedding": ({"embed_input": True}, {"sn_embed": False}),
    # per-class BN tables only (SNGAN-projection's generator)
    "tables": ({}, {"sn_embed": False}),
    # BN gain and bias linear in one class embedding shared by every block (BigGAN's, without z chunks)
    "shared32": ({"shared_dim": 32}, {"sn_embed": False}),
    "shared128": ({"shared_dim": 128}, {"sn_embed": False}),
    "shared128+sn-embed": ({"shared_dim": 128}, {"sn_embed": True}),
    # shared embedding plus hierarchical latents (z chunks into every block)
    "shared32+hierarchical": ({"shared_dim": 32, "hierarchical": True}, {"sn_embed": False}),
    "shared128+hierarchical": ({"shared_dim": 128, "hierarchical": True}, {"sn_embed": False}),
    # cond's networks with SAGAN/BigGAN's optimiser and spectral norm in G (what biggan, which keeps its
    # variety at 15 CPU-minutes, has and cond has not, apart from attention and hierarchical latents)
    "sagan-optim+g-sn": None,
    "attention": None,  # cond's networks with self-attention at 16 px, as biggan and sagan have
}
# variant -> TrainConfig settings it changes (the rest: cond's defaults), e.g. {"d_lr": 4e-4}
SETTINGS: dict[str, dict] = {
    "sagan-optim+g-sn": {"g_sn": True, "g_lr": 1e-4, "d_lr": 4e-4, "beta1": 0.0, "beta2": 0.9},
    "attention": {"attn_res": 16},
}


def patched_family(variant: str):
    """A context in which ``--model cond`` builds the variant's networks."""
    from contextlib import contextmanager

    from ganstyle.gan.models import cond, sngan

    @contextmanager
    def ctx():
        spec = VARIANTS[variant]
        if spec is None:
            yield
            return
        g_kw, d_kw = spec
        old = cond.make_generator, cond.make_discriminator
        cond.make_generator = lambda cfg, shape, k: sngan.make_generator(cfg, shape, k, **g_kw)
        cond.make_discriminator = lambda cfg, shape, k: sngan.make_discriminator(cfg, shape, k, **d_kw)
        try:
            yield
        finally:
            cond.make_generator, cond.make_discriminator = old
    return ctx()


def mean_pairwise_distance(features: torch.Tensor) -> float:
    d = torch.cdist(features, features)
    n = len(features)
    return float(d.sum() / (n * (n - 1)))


@torch.no_grad()
def within_class_spread(G, prep, per_class: int, seed: int) -> tuple[float, float]:
    """(within-class spread relative to real held-out digits, class accuracy) of ``G``."""
    from ganstyle.gan.generator import generate_from
    from ganstyle.metrics.features import quantize

    labels = torch.arange(mp.NUM_CLASSES).repeat_interleave(per_class)
    x = generate_from(G, len(labels), seed=seed, labels=labels)
    feats, logits = prep.extractor.run(quantize(x))
    feats, logits = torch.as_tensor(feats).float(), torch.as_tensor(logits)
    real_feats, _ = prep.extractor.run(quantize(prep.heldout.x))
    real_feats = torch.as_tensor(real_feats).float()
    ratios = []
    for c in range(mp.NUM_CLASSES):
        fake_c = feats[labels == c]
        real_c = real_feats[prep.heldout.y == c][:per_class]
        ratios.append(mean_pairwise_distance(fake_c) / mean_pairwise_distance(real_c))
    accuracy = float((logits.argmax(1) == labels).float().mean())
    return sum(ratios) / len(ratios), accuracy


def run_variant(prep, variant: str, budget: float, args, out: Path) -> dict:
    from ganstyle.gan.sampling import sample

    with tempfile.TemporaryDirectory() as tmp, patched_family(variant):
        trainer, timing = mp.train_run(prep, Path(tmp) / variant, cpu_seconds=budget, model="cond", seed=args.seed,
                                       **SETTINGS.get(variant, {}))
        scores = mp.measure(trainer, prep, n=args.eval_n, seed=args.seed, metrics=("pr",))
        spread, accuracy = within_class_spread(trainer.G_ema.model, prep, args.per_class, args.seed)
        live_spread, _ = within_class_spread(trainer.G, prep, args.per_class, args.seed)
        sample(trainer.run_dir, out=out / f"{variant}_{budget:.0f}s_per_class.png", per_class=10, seed=args.seed, overwrite=True)
    return {"variant": variant, "settings": SETTINGS.get(variant, {}), "budget_cpu_s": budget,
            "steps": timing["steps"], "cpu_seconds": timing["cpu_seconds"],
            "wall_seconds": timing["wall_seconds"], "precision": scores["precision"], "recall": scores["recall"],
            "class_accuracy": accuracy, "within_class_spread": spread, "within_class_spread_live_g": live_spread,
            "eval_n": args.eval_n}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist", required=True, metavar="DIR", help="the folder with the MNIST test IDX files")
    p.add_argument("--data-dir", default="runs/bench/mnist_protocol", help="the protocol's cache folder")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from {', '.join(VARIANTS)}")
    p.add_argument("--budget", type=float, default=90.0, help="process CPU seconds per variant")
    p.add_argument("--eval-n", type=int, default=1000)
    p.add_argument("--per-class", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/bench/cond_variants")
    args = p.parse_args(argv)
    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    torch.set_num_threads(1)  # the protocol's CPU-second is one thread's
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    prep = mp.prepare(args.mnist, args.data_dir, n_train=mp.POOL_SIZE)
    path = out / "cond_variants.json"
    rows = json.loads(path.read_text())["rows"] if path.is_file() else []
    for name in names:
        row = run_variant(prep, name, args.budget, args, out)
        rows = [r for r in rows if (r["variant"], r["budget_cpu_s"]) != (name, args.budget)] + [row]
        path.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
        print(f"{name:24s} {row['steps']:5d} steps  recall {row['recall']:.3f}  precision {row['precision']:.3f}  "
              f"class acc {row['class_accuracy']:.1%}  spread {row['within_class_spread']:.2f} "
              f"(live G {row['within_class_spread_live_g']:.2f})", flush=True)


if __name__ == "__main__":
    main()
