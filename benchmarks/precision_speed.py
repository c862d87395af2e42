"""fp32 vs bf16 on this machine, for the README's speeds-per-hardware table.

    OMP_NUM_THREADS=1 python benchmarks/precision_speed.py --out runs/bench/precision_speed.json

Two workloads: DCGAN 32 px training (batch 64, images per CPU-second, the trainer's real
step) and one fast-stylize forward pass (Johnson network, width 32, at ``--stylize-size``).
Times are process CPU time, so a busy machine inflates them less than wall time; with one
thread they are the cost per core. Also prints what ``--precision auto`` picks here.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from gan_speed import measure  # the trainer's real step, timed the same way (this folder is on sys.path)
from ganstyle.torch_utils import autocast, native_bf16, resolve_precision


def _transform_net():
    try:  # the style methods moved into a registry package; older layouts keep fast.py beside it
        from ganstyle.style.methods.fast import TransformNet
    except ModuleNotFoundError:
        from ganstyle.style.methods.fast import TransformNet
    return TransformNet(width=32).eval()


def fast_stylize_cpu_s(precision: str, size: int, repeats: int) -> float:
    """CPU seconds of one forward pass at size x size (the best of ``repeats`` after one warm-up)."""
    net = _transform_net()
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    best = float("inf")
    with torch.no_grad(), autocast(torch.device("cpu"), precision):
        for i in range(repeats + 1):
            cpu = time.process_time()
            net(x)
            if i:
                best = min(best, time.process_time() - cpu)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=25, help="DCGAN steps timed per precision")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--stylize-size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results/precision_speed.json")
    args = ap.parse_args()
    cpu = torch.device("cpu")
    res = {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
           "torch": torch.__version__, "native_bf16": native_bf16(cpu),
           "amx": bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()),
           "avx512_bf16": bool(getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()),
           "auto_picks": resolve_precision("auto", cpu), "stylize_size": args.stylize_size}
    for p in ("fp32", "bf16"):
        res[f"dcgan32_{p}_img_per_cpu_s"] = round(measure(p, 32, 64, args.steps, args.warmup, "cpu")[1], 1)
        res[f"fast_stylize_{p}_cpu_s"] = round(fast_stylize_cpu_s(p, args.stylize_size, args.repeats), 2)
    res["dcgan32_bf16_speedup"] = round(res["dcgan32_bf16_img_per_cpu_s"] / res["dcgan32_fp32_img_per_cpu_s"], 2)
    res["fast_stylize_bf16_speedup"] = round(res["fast_stylize_fp32_cpu_s"] / res["fast_stylize_bf16_cpu_s"], 2)
    print(json.dumps(res, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
