"""GAN inversion error on held-out MNIST digits (``ganstyle project``).

Trains a DCGAN on the first ``--train-n`` digits of an MNIST IDX file pair (the data stays where
it is; nothing is copied), then projects ``--project-n`` held-out digits (taken from the last
2000, never trained on) and as many training digits, with pixel MSE alone and with the feature
loss (ganstyle's domain classifier trained on the bundled digits). Reports the reconstruction
MSE (images in [-1, 1]) as mean ± standard error, beside the error of always answering the mean
training image. CPU times are process CPU seconds.

    OMP_NUM_THREADS=1 python benchmarks/projection.py --mnist ../shared/data/mnist --out runs/bench/projection
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def load_mnist(folder: Path, image_size: int) -> torch.Tensor:
    from ganstyle.data.downloads import read_idx

    raw = torch.from_numpy(read_idx(folder / "t10k-images-idx3-ubyte.gz").astype(np.float32))[:, None] / 255.0
    x = F.interpolate(raw, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
    return x * 2 - 1


def mean_se(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist", required=True, help="folder with t10k-images-idx3-ubyte.gz")
    p.add_argument("--train-n", type=int, default=8000)
    p.add_argument("--image-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=1500, help="DCGAN generator updates")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--project-n", type=int, default=16)
    p.add_argument("--project-steps", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/bench/projection")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from ganstyle.data import Dataset
    from ganstyle.gan.project import project
    from ganstyle.gan.sampling import load_generator
    from ganstyle.gan.trainer import TrainConfig, train_gan
    from ganstyle.metrics.extractors import classifier_extractor

    x = load_mnist(Path(args.mnist), args.image_size)
    train, held_out = x[:args.train_n], x[-2000:]
    cfg = TrainConfig(data="digits", model="dcgan", steps=args.steps, g_width=args.width, d_width=args.width,
                      seed=args.seed, sample_every=0, ckpt_every=0, log_every=100, precision="fp32")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.process_time()
        run = train_gan(cfg, out=Path(tmp) / "run", progress=False,
                        dataset=Dataset(name="mnist-first", x=train))
        train_cpu = time.process_time() - t
        g = load_generator(run)
    ext = classifier_extractor("digits")
    pick = torch.randperm(2000, generator=torch.Generator().manual_seed(args.seed))[:args.project_n]
    sets = {"held-out": held_out[pick], "training": train[:args.project_n]}
    rows, results = [], {}
    baseline = train.mean(0)
    for set_name, imgs in sets.items():
        results[f"{set_name}/mean-image"] = mean_se([(baseline - im).pow(2).mean().item() for im in imgs])
        for loss_name, fw in (("pixels", 0.0), ("pixels+features", 1.0)):
            t = time.process_time()
            errs = [project(g, im, steps=args.project_steps, feature_weight=fw, extractor=ext if fw else None,
                            seed=args.seed).mse for im in imgs]
            cpu = (time.process_time() - t) / len(imgs)
            results[f"{set_name}/{loss_name}"] = mean_se(errs)
            rows.append((set_name, loss_name, *mean_se(errs), cpu))
            print(f"{set_name:9s} {loss_name:16s} MSE {rows[-1][2]:.4f} ± {rows[-1][3]:.4f}  {cpu:.1f} CPU s/image", flush=True)
    lines = [f"DCGAN {args.image_size} px, width {args.width}, {args.steps} steps on {args.train_n} digits "
             f"({train_cpu:.0f} CPU s); {args.project_n} digits per set, {args.project_steps} projection steps", "",
             "| digits | loss | reconstruction MSE | mean-image MSE | CPU s / image |", "|---|---|---|---|---|"]
    for set_name, loss_name, m, se, cpu in rows:
        b = results[f"{set_name}/mean-image"]
        lines.append(f"| {set_name} | {loss_name} | {m:.4f} ± {se:.4f} | {b[0]:.4f} ± {b[1]:.4f} | {cpu:.1f} |")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps({"args": vars(args), "train_cpu_seconds": train_cpu,
                                                  "results": results}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
