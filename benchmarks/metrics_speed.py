"""Speed of the metrics stack, each beside a reference measured in the same run.

- Inception-v3 (FID variant, random weights: speed does not depend on the values) at 299 px:
  images/s in fp32 and under bf16 autocast, and how far bf16 moves the features.
- The digits domain classifier: images/s, and the FID change bf16 causes on real digits.
- FID of 10k vs 10k cached 2048-d features: ours (float64 mean/cov + symmetric eigen route)
  against the pytorch-fid procedure (scipy.linalg.sqrtm) and torch-fidelity's (eigvals of Σ₁Σ₂).
- KID (100 subsets of 1000) on the same features.

    python benchmarks/metrics_speed.py --out runs/bench/metrics_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ganstyle.metrics.frechet import frechet_distance, mean_cov  # noqa: E402
from ganstyle.torch_utils import default_threads  # noqa: E402


CPU_TIMES: dict[str, float] = {}


def timed(fn, *a, label: str = "", **k):
    """Wall seconds of one call; its process CPU seconds go to CPU_TIMES[label] (less sensitive
    to other processes on a shared machine than wall time)."""
    c, t = time.process_time(), time.perf_counter()
    out = fn(*a, **k)
    wall = time.perf_counter() - t
    if label:
        CPU_TIMES[label] = time.process_time() - c
    return out, wall


def images_per_second(model, x, precision, batch):
    from ganstyle.torch_utils import autocast

    dev = torch.device("cpu")
    feats = []
    with torch.inference_mode():
        with autocast(dev, precision):
            model(x[:2])  # warm-up: one-time kernel selection
        t, c = time.perf_counter(), time.process_time()
        for lo in range(0, len(x), batch):
            with autocast(dev, precision):
                feats.append(model(x[lo:lo + batch])[0].float())
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
    CPU_TIMES[f"{type(model).__name__}_{precision}_images_per_cpu_s"] = len(x) / cpu
    return len(x) / seconds, torch.cat(feats)


def bench_inception(n, batch):
    from ganstyle.metrics.extractors.inception import FIDInceptionV3

    torch.manual_seed(0)
    model = FIDInceptionV3().eval()
    x = torch.rand(n, 3, 299, 299) * 2 - 1
    ips32, f32 = images_per_second(model, x, "fp32", batch)
    ips16, f16 = images_per_second(model, x, "bf16", batch)
    rel = float(((f16 - f32).norm(dim=1) / f32.norm(dim=1)).mean())
    return {"images": n, "batch": batch, "fp32_images_per_s": ips32, "bf16_images_per_s": ips16,
            "bf16_speedup": ips16 / ips32, "bf16_mean_relative_feature_error": rel}


def bench_classifier(batch):
    from ganstyle.data.digits import load_digits_dataset
    from ganstyle.metrics.extractors.classifier import load_or_train_classifier

    model, info = load_or_train_classifier()
    data = load_digits_dataset(image_size=32, channels=1).x  # 1797 images, resized by the model
    x = data.repeat(6, 1, 1, 1)[:10_000]
    ips32, f32 = images_per_second(model, x, "fp32", batch)
    ips16, f16 = images_per_second(model, x, "bf16", batch)
    half = len(data)
    fid32 = frechet_distance(*mean_cov(f32[:half // 2].double().numpy()), *mean_cov(f32[half // 2:half].double().numpy()))
    fid16 = frechet_distance(*mean_cov(f16[:half // 2].double().numpy()), *mean_cov(f16[half // 2:half].double().numpy()))
    return {"images": len(x), "batch": batch, "fp32_images_per_s": ips32, "bf16_images_per_s": ips16,
            "bf16_speedup": ips16 / ips32, "test_accuracy": info["test_accuracy"],
            "fid_half_vs_half_fp32": fid32, "fid_half_vs_half_bf16": fid16,
            "bf16_fid_relative_change": abs(fid16 - fid32) / fid32}


def bench_fid(n, dim, with_sqrtm):
    rng = np.random.default_rng(0)
    # features with a realistic spectrum (decaying variances, correlated), as float32 like extractor output
    mix = rng.normal(size=(dim, dim)) * (np.arange(1, dim + 1) ** -0.7)[None]
    f1 = (rng.normal(size=(n, dim)) @ mix.T).astype(np.float32)
    f2 = (rng.normal(size=(n, dim)) @ mix.T * 1.05 + 0.01).astype(np.float32)
    (stats1, t_cov1) = timed(mean_cov, f1, label="ours_cov_a")
    (stats2, t_cov2) = timed(mean_cov, f2, label="ours_cov_b")
    ours, t_ours = timed(frechet_distance, *stats1, *stats2, label="ours_frechet")
    out = {"n": n, "dim": dim, "ours_cov_seconds": t_cov1 + t_cov2, "ours_frechet_seconds": t_ours,
           "ours_total_seconds": t_cov1 + t_cov2 + t_ours, "ours_fid": ours}
    # torch-fidelity's route: eigenvalues of the non-symmetric product
    (mu1, s1), (mu2, s2) = stats1, stats2

    def eigvals_fid():
        tr = np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).astype("complex128")).real)
        d = mu1 - mu2
        return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * tr)

    ref, t_ref = timed(eigvals_fid, label="eigvals_frechet")
    out.update({"eigvals_seconds": t_ref, "eigvals_fid": ref, "speedup_vs_eigvals": t_ref / t_ours})
    if with_sqrtm:
        ref, t_ref = timed(frechet_distance, *stats1, *stats2, method="sqrtm", label="sqrtm_frechet")
        out.update({"sqrtm_seconds": t_ref, "sqrtm_fid": ref, "speedup_vs_sqrtm": t_ref / t_ours,
                    "relative_difference_vs_sqrtm": abs(ours - ref) / abs(ref)})
    return out, f1, f2


def bench_kid(f1, f2):
    from ganstyle.metrics.kid import kernel_inception_distance

    (mean, std), t = timed(kernel_inception_distance, f1, f2, label="kid")
    return {"kid": mean, "kid_std": std, "seconds": t}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inception-images", type=int, default=48)
    p.add_argument("--inception-batch", type=int, default=16)
    p.add_argument("--fid-n", type=int, default=10_000)
    p.add_argument("--fid-dim", type=int, default=2048)
    p.add_argument("--skip-sqrtm", action="store_true", help="skip the slow scipy.linalg.sqrtm reference")
    p.add_argument("--skip-inception", action="store_true")
    p.add_argument("--skip-classifier", action="store_true")
    p.add_argument("--skip-fid", action="store_true", help="skip the FID and KID timings")
    p.add_argument("--out", default="runs/bench/metrics_speed.json")
    args = p.parse_args(argv)
    torch.set_num_threads(default_threads())
    result = {"machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "platform": platform.platform(), "torch": torch.__version__, "numpy": np.__version__}}
    if not args.skip_classifier:
        result["classifier"] = bench_classifier(512)
        print("digits classifier:", json.dumps(result["classifier"], indent=1))
    if not args.skip_inception:
        result["inception"] = bench_inception(args.inception_images, args.inception_batch)
        print("inception:", json.dumps(result["inception"], indent=1))
    if not args.skip_fid:
        result["fid"], f1, f2 = bench_fid(args.fid_n, args.fid_dim, not args.skip_sqrtm)
        print("fid:", json.dumps(result["fid"], indent=1))
        result["kid"] = bench_kid(f1, f2)
        print("kid:", json.dumps(result["kid"], indent=1))
    result["cpu_seconds"] = CPU_TIMES
    result["load_average_at_end"] = os.getloadavg()
    print("process CPU:", json.dumps(CPU_TIMES, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
