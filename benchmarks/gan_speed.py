"""DCGAN training throughput, fp32 vs bf16 autocast (images/s of generator updates).

    OMP_NUM_THREADS=2 python benchmarks/gan_speed.py --size 32 --batch 64 --steps 60

Runs the real trainer step (one D update + one G update + EMA) on digits upscaled to
``--size`` and prints the bf16/fp32 ratio measured in the same process; writes JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from ganstyle.gan.trainer import GANTrainer, TrainConfig


def measure(precision: str, size: int, batch: int, steps: int, warmup: int, device: str) -> tuple[float, float]:
    """(images/s of wall time, images per CPU-second); the second is meaningful on a busy machine."""
    cfg = TrainConfig(data="digits", image_size=size, model="dcgan", batch_size=batch, precision=precision,
                      device=device, steps=10**9)
    with tempfile.TemporaryDirectory() as tmp:
        tr = GANTrainer(cfg, tmp)
        for _ in range(warmup):
            tr.d_step(); tr.g_step(); tr.G_ema.update(tr.G, 1)
        if tr.device.type == "cuda":
            torch.cuda.synchronize()
        t, cpu = time.perf_counter(), time.process_time()
        for i in range(steps):
            tr.d_step(); tr.g_step(); tr.G_ema.update(tr.G, i + warmup)
        tr.window["g_loss"].item()  # wait for queued work
        if tr.device.type == "cuda":
            torch.cuda.synchronize()
        return steps * batch / (time.perf_counter() - t), steps * batch / (time.process_time() - cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default="benchmarks/results/gan_speed.json")
    args = ap.parse_args()
    res = {"size": args.size, "batch": args.batch, "steps": args.steps, "threads": torch.get_num_threads(),
           "device": args.device, "torch": torch.__version__}
    for p in ("fp32", "bf16"):
        wall, cpu = measure(p, args.size, args.batch, args.steps, args.warmup, args.device)
        res[f"{p}_img_per_s"], res[f"{p}_img_per_cpu_s"] = round(wall, 1), round(cpu, 1)
    res["bf16_speedup"] = round(res["bf16_img_per_s"] / res["fp32_img_per_s"], 2)
    res["bf16_speedup_cpu_time"] = round(res["bf16_img_per_cpu_s"] / res["fp32_img_per_cpu_s"], 2)
    print(json.dumps(res, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
