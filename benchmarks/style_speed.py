"""Seconds per Gatys iteration and peak memory, beside a plain tutorial-style loop.

For each output size (default 256 and 512 px, square) and backbone, ganstyle's Gatys step
(``run_gatys``: L-BFGS, relu4_2 content + relu1_1..relu5_1 Gram style + TV) is timed in fp32
and bf16 autocast. ``vgg19`` is the VGG-19 architecture with random initialisation: the same
FLOPs as the real weights, which cannot be downloaded everywhere. The reference, measured
in the same run, is the loop the classic tutorials write: an ``nn.Sequential`` VGG-19 with
loss modules inserted after the chosen layers, Gram matrices via ``torch.mm``, Adam on the
pixels, one scale, fp32.

    python benchmarks/style_speed.py                                  # 256 and 512 px
    python benchmarks/style_speed.py --sizes 256 --iterations 5 --out runs/bench/style_speed.json
    python benchmarks/style_speed.py --nets        # also the fast/AdaIN networks (ms per image)

Each measurement runs in its own process so that peak memory (growth of the resident set
over the process's baseline on CPU, torch's peak allocation on CUDA) belongs to it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


# ---------------------------------------------------------------------------- the reference loop


def tutorial_vgg19() -> nn.Sequential:
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512]
    layers, cin = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=False)]
            cin = v
    return nn.Sequential(*layers)


def tutorial_gram(x):
    a, b, c, d = x.size()
    f = x.view(a * b, c * d)
    return torch.mm(f, f.t()).div(a * b * c * d)


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()
        self.loss = 0

    def forward(self, x):
        self.loss = F.mse_loss(x, self.target)
        return x


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        self.target = tutorial_gram(target_feature).detach()
        self.loss = 0

    def forward(self, x):
        self.loss = F.mse_loss(tutorial_gram(x), self.target)
        return x


def reference_loop(content, style, iterations):
    """Build the model with loss modules inserted, then Adam on the image (as the tutorials do)."""
    cnn = tutorial_vgg19().eval().requires_grad_(False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    names_conv = {1: "relu1_1", 6: "relu2_1", 11: "relu3_1", 20: "relu4_1", 22: "relu4_2", 29: "relu5_1"}
    model = nn.Sequential()
    content_losses, style_losses = [], []
    normalized = lambda x: (x - mean) / std
    for i, layer in enumerate(cnn):
        model.add_module(str(i), layer)
        name = names_conv.get(i)
        if name == "relu4_2":
            cl = ContentLoss(model(normalized(content)))
            model.add_module(f"content_{i}", cl)
            content_losses.append(cl)
        if name in STYLE_LAYERS:
            sl = StyleLoss(model(normalized(style)))
            model.add_module(f"style_{i}", sl)
            style_losses.append(sl)
        if name == "relu5_1":
            break
    image = content.clone().requires_grad_(True)
    opt = torch.optim.Adam([image], lr=0.02)
    times, cpu = [], []
    for _ in range(iterations):
        t, c = time.perf_counter(), time.process_time()
        opt.zero_grad()
        model(normalized(image))
        loss = 1e6 * sum(s.loss for s in style_losses) + sum(c.loss for c in content_losses)
        loss.backward()
        opt.step()
        with torch.no_grad():
            image.clamp_(0, 1)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return times, cpu


# ---------------------------------------------------------------------------- memory


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current resident set
    except OSError:
        pass
    return _status_kb("VmRSS")


# ---------------------------------------------------------------------------- one measurement (child)


def child(args) -> dict:
    from ganstyle.style.backbones import random_backbone, vgg19_architecture
    from ganstyle.style.methods.gatys import GatysConfig, run_gatys

    torch.manual_seed(0)
    size = args.size
    content = torch.rand(1, 3, size, size)
    content = F.avg_pool2d(content, 5, 1, 2)  # a little structure, so the losses are not degenerate
    style = torch.rand(1, 3, size, size)
    base = reset_peak()
    start = time.perf_counter()
    if args.what == "reference":
        times, cpu = reference_loop(content, style, args.iterations + 1)
    else:
        backbone, precision = args.what.split(":")
        net = random_backbone(0, pooling="avg") if backbone == "random" else vgg19_architecture("avg")
        times, cpu, last = [], [], [time.perf_counter(), time.process_time()]

        def tick(level, step, image, losses):
            now, now_cpu = time.perf_counter(), time.process_time()
            times.append(now - last[0])
            cpu.append(now_cpu - last[1])
            last[:] = [now, now_cpu]

        cfg = GatysConfig(size=size, iterations=args.iterations + 1, backbone="random", device="cpu",
                          precision=precision, progress=False)
        run_gatys(content[0], [style[0]], cfg, backbone=net, callback=tick)
        from ganstyle.style.methods.gatys import estimate_peak_bytes

        layers = list(cfg.style_layers) + [cfg.content_layer]
        estimate = estimate_peak_bytes(net, (size, size), layers, precision) / 2**20
    if args.what == "reference":
        estimate = None
    steady = sorted(times[1:])  # the first step pays for one-off setup (target features, allocator)
    steady_cpu = sorted(cpu[1:])
    return {
        "what": args.what, "size": size, "seconds_per_iteration": steady[len(steady) // 2],
        # CPU time is what to compare on a shared machine: other jobs inflate wall time, not this.
        "cpu_seconds_per_iteration": steady_cpu[len(steady_cpu) // 2],
        "wall_seconds": time.perf_counter() - start,
        "peak_mib": (_status_kb("VmHWM") - base) / 1024,
        "estimated_peak_mib": estimate,  # what the --size guard assumes
    }


def measure(what: str, size: int, iterations: int, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--child", what, "--size", str(size), "--iterations", str(iterations)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{what} @ {size}: failed\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="256,512", help="output sides in px (default: 256,512)")
    p.add_argument("--iterations", type=int, default=4, help="timed iterations per setting, median reported (default: 4)")
    p.add_argument("--backbones", default="random,vgg19", help="(default: random,vgg19)")
    p.add_argument("--precisions", default="fp32,bf16", help="(default: fp32,bf16)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (default: all cores)")
    p.add_argument("--nets", action="store_true",
                   help="also run benchmarks/style_nets_speed.py (fast and AdaIN networks) and merge its JSON")
    p.add_argument("--out", default="runs/bench/style_speed.json", help="JSON results file")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, default=256, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        args.what = args.child
        print(json.dumps(child(args)))
        return 0

    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        ref = measure("reference", size, args.iterations, args.threads)
        rows.append(ref)
        print(f"{size:5d} px  reference (tutorial VGG-19, Adam, fp32): {ref['seconds_per_iteration']:.3f} s/it "
              f"({ref['cpu_seconds_per_iteration']:.3f} CPU-s/it), "
              f"peak {ref['peak_mib']:.0f} MiB", flush=True)
        for backbone in args.backbones.split(","):
            for precision in args.precisions.split(","):
                r = measure(f"{backbone}:{precision}", size, args.iterations, args.threads)
                r["speedup_vs_reference"] = ref["seconds_per_iteration"] / r["seconds_per_iteration"]
                r["cpu_speedup_vs_reference"] = ref["cpu_seconds_per_iteration"] / r["cpu_seconds_per_iteration"]
                r["memory_vs_reference"] = r["peak_mib"] / max(ref["peak_mib"], 1e-9)
                rows.append(r)
                print(f"{size:5d} px  ganstyle {backbone:7s} {precision}: {r['seconds_per_iteration']:.3f} s/it "
                      f"({r['speedup_vs_reference']:.2f}x the reference's speed; CPU time "
                      f"{r['cpu_seconds_per_iteration']:.3f} s/it, {r['cpu_speedup_vs_reference']:.2f}x), peak {r['peak_mib']:.0f} MiB "
                      f"({r['memory_vs_reference']:.2f}x; the --size guard estimates {r['estimated_peak_mib']:.0f})", flush=True)
    result = {"benchmark": "gatys_speed", "threads": args.threads, "torch": torch.__version__,
              "machine": platform.processor() or platform.machine(), "rows": rows}
    nets_script = ROOT / "benchmarks" / "style_nets_speed.py"
    if args.nets:
        if not nets_script.is_file():
            print("style_nets_speed.py not found: skipping the fast/AdaIN networks", file=sys.stderr)
        else:
            nets_out = Path(args.out).with_name("style_nets_speed.json")
            subprocess.run([sys.executable, str(nets_script), "--out", str(nets_out)], check=True)
            result["networks"] = json.loads(nets_out.read_text())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
