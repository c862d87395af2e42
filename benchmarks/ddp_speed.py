"""Training throughput of 1 vs 2 processes on CPU, measured in the same run.

    python benchmarks/ddp_speed.py --out runs/bench_ddp          # DCGAN on digits, 32 px
    python benchmarks/ddp_speed.py --precision bf16 --compile    # also time torch.compile

Configurations (same global batch, same model, same data):

- ``1 proc x 1 thread``  — the reference;
- ``2 procs x 1 thread`` — ``torchrun --nproc_per_node 2`` with gloo;
- ``1 proc x 2 threads`` — the same two cores used by intra-op threads instead;
- with ``--compile``: ``1 proc x 1 thread --compile`` (its start-up, mostly compilation, is
  reported separately; one thread keeps the comparison clear of thread contention).

Throughput is the trainer's own ``img_per_s`` (global images per second), averaged over
the log windows after the first (which holds warm-up). Startup (imports, process group,
compilation) is reported separately as wall time minus training time. Results go to
``OUT/ddp_speed.json``; ratios are against the reference measured in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_config(name: str, nproc: int, threads: int, train_flags: list[str], out: Path) -> dict:
    run_dir = out / name.replace(" ", "_")
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": str(threads)}
    if nproc == 1:
        launcher = [sys.executable, "-m", "ganstyle"]
    else:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
                    "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "-m", "ganstyle"]
    cmd = launcher + ["train", "--no-progress", "--out", str(run_dir)] + train_flags
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    import csv

    with open(run_dir / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("img_per_s")]
    steady = [float(r["img_per_s"]) for r in rows[1:]] or [float(rows[0]["img_per_s"])]
    img_s = sum(steady) / len(steady)
    steps = int(rows[-1]["step"])
    return {"name": name, "processes": nproc, "threads_per_process": threads, "img_per_s": img_s,
            "wall_s": wall, "train_s_est": steps * batch_of(train_flags) / img_s}


def batch_of(flags: list[str]) -> int:
    return int(flags[flags.index("--batch-size") + 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/bench_ddp", help="folder for the runs and ddp_speed.json")
    ap.add_argument("--data", default="digits")
    ap.add_argument("--model", default="dcgan")
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--width", type=int, default=32, help="--g-width and --d-width")
    ap.add_argument("--batch-size", type=int, default=64, help="global batch")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    ap.add_argument("--compile", action="store_true", help="also time 1 proc x 1 thread with --compile")
    args = ap.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    flags = ["--data", args.data, "--model", args.model, "--g-width", str(args.width), "--d-width", str(args.width),
             "--batch-size", str(args.batch_size), "--steps", str(args.steps), "--precision", args.precision,
             "--log-every", str(max(args.steps // 4, 1)), "--sample-every", "0", "--ckpt-every", "0",
             "--ema-decay", "0.999", "--device", "cpu"]
    if args.model != "mlp":
        flags += ["--image-size", str(args.image_size)]
    configs = [("1 proc x 1 thread", 1, 1, []), ("2 procs x 1 thread", 2, 1, []), ("1 proc x 2 threads", 1, 2, [])]
    if args.compile:
        configs.append(("1 proc x 1 thread compiled", 1, 1, ["--compile"]))
    results = []
    for name, nproc, threads, extra in configs:
        r = run_config(name, nproc, threads, flags + extra, out)
        results.append(r)
        print(f"{name:30s} {r['img_per_s']:9.1f} img/s   wall {r['wall_s']:6.1f} s", flush=True)
    ref = results[0]["img_per_s"]
    for r in results:
        r["speedup_vs_1x1"] = r["img_per_s"] / ref
    by_name = {r["name"]: r for r in results}
    two_proc, two_thread = by_name["2 procs x 1 thread"], by_name["1 proc x 2 threads"]
    summary = {
        "2 procs vs 1 proc (1 thread each)": two_proc["img_per_s"] / ref,
        "2 procs x 1 thread vs 1 proc x 2 threads": two_proc["img_per_s"] / two_thread["img_per_s"],
    }
    if args.compile:
        c, eager = by_name["1 proc x 1 thread compiled"], results[0]
        summary["compiled vs eager (1 proc x 1 thread)"] = c["img_per_s"] / ref
        summary["compile startup overhead s"] = (c["wall_s"] - c["train_s_est"]) - (eager["wall_s"] - eager["train_s_est"])
    for k, v in summary.items():
        print(f"{k}: {v:.2f}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    report = {"settings": vars(args), "cpu_count": os.cpu_count(), "load_average_1min_at_end": load,
              "results": results, "summary": summary,
              "note": "shared machines make these numbers noisy; compare ratios from one run only"}
    (out / "ddp_speed.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out / 'ddp_speed.json'}")


if __name__ == "__main__":
    main()
