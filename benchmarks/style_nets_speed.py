"""Speed and memory of the feed-forward style networks, each beside a plain reference.

Fast (Johnson) network: ganstyle's TransformNet (instance norm, nearest upsampling + conv)
in fp32, bf16 autocast, and bf16 + channels-last, against the network as first published
(batch norm, transposed-convolution upsampling, zero padding) in fp32, same widths.
AdaIN: VGG-19 encoder to relu4_1 + ganstyle's decoder (fp32 and bf16), against a plain
fp32 encoder/decoder with upsampling layers that build the full-size tensors.
Untrained weights: speed does not depend on them.

    python benchmarks/style_nets_speed.py                      # 256, 512, 1024 px
    python benchmarks/style_nets_speed.py --sizes 256 --repeats 2 --out runs/bench/style_nets.json
    python benchmarks/style_nets_speed.py --train     # also ms per training step (what training costs)

Peak memory is the growth of the process's resident set during one forward pass (CPU;
read from /proc after resetting the high-water mark) or torch's peak allocation (CUDA).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ganstyle.style.methods.adain import Decoder, adain_target  # noqa: E402
from ganstyle.style.backbones import vgg19_architecture  # noqa: E402
from ganstyle.style.methods.fast import TransformNet  # noqa: E402
from ganstyle.style.losses import mean_std  # noqa: E402
from ganstyle.torch_utils import autocast  # noqa: E402

# ---------------------------------------------------------------------------- references


class PaperTransformNet(nn.Module):
    """Johnson et al. 2016 as first published: zero padding, batch norm, transposed convs."""

    def __init__(self, width: int = 32, res_blocks: int = 5):
        super().__init__()
        c1, c2, c3 = width, 2 * width, 4 * width

        def cbr(cin, cout, k, s=1):
            return [nn.Conv2d(cin, cout, k, s, k // 2), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.head = nn.Sequential(*cbr(3, c1, 9), *cbr(c1, c2, 3, 2), *cbr(c2, c3, 3, 2))
        self.res = nn.ModuleList(nn.Sequential(*cbr(c3, c3, 3), nn.Conv2d(c3, c3, 3, 1, 1), nn.BatchNorm2d(c3))
                                 for _ in range(res_blocks))
        self.tail = nn.Sequential(
            nn.ConvTranspose2d(c3, c2, 3, 2, 1, output_padding=1), nn.BatchNorm2d(c2), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(c2, c1, 3, 2, 1, output_padding=1), nn.BatchNorm2d(c1), nn.ReLU(inplace=True),
            nn.Conv2d(c1, 3, 9, 1, 4))

    def forward(self, x):
        h = self.head(x)
        for block in self.res:
            h = h + block(h)
        return self.tail(h)


def plain_vgg_encoder() -> nn.Sequential:
    """VGG-19 to relu4_1 as one Sequential (what pytorch-AdaIN runs)."""
    layers, cin = [], 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512):
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
            cin = v
    return nn.Sequential(*layers)


def plain_decoder() -> nn.Sequential:
    def conv(cin, cout, act=True):
        return [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)] + ([nn.ReLU(inplace=True)] if act else [])

    up = nn.Upsample(scale_factor=2, mode="nearest")
    return nn.Sequential(*conv(512, 256), up, *conv(256, 256), *conv(256, 256), *conv(256, 256), *conv(256, 128),
                         up, *conv(128, 128), *conv(128, 64), up, *conv(64, 64), *conv(64, 3, act=False))


def plain_adain(c, s, eps=1e-5):
    cm, cs = c.mean((2, 3), keepdim=True), (c.var((2, 3), keepdim=True) + eps).sqrt()
    sm, ss = s.mean((2, 3), keepdim=True), (s.var((2, 3), keepdim=True) + eps).sqrt()
    return (c - cm) / cs * ss + sm


# ---------------------------------------------------------------------------- measuring


def reset_peak(device):
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass
    return _status_kb("VmRSS") * 1024


def peak_since(device, base):
    if device.type == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    return _status_kb("VmHWM") * 1024 - base


def _status_kb(key: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


MEMORY_ONLY = False  # set in the child process that measures peaks (see main)


def measure(fn, device, repeats: int) -> tuple[float, float]:
    """(median ms, peak MB) of ``fn()`` after one warm-up call. In the memory child only the
    peak is taken; timings come from the parent, whose allocator is not slowed down."""
    with torch.no_grad():
        fn()
        if MEMORY_ONLY or device.type == "cuda":
            base = reset_peak(device)
            fn()
            peak = peak_since(device, base)
            if MEMORY_ONLY:
                return 0.0, peak / 2**20
        else:
            peak = float("nan")
        times = []
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    times.sort()
    return 1000 * times[len(times) // 2], peak / 2**20


def bench_fast(size, device, repeats, width):
    x = torch.rand(1, 3, size, size, device=device)
    ours = TransformNet(width).to(device).eval()
    ref = PaperTransformNet(width).to(device).eval()
    rows = []
    ms, mb = measure(lambda: ref(x), device, repeats)
    rows.append(("fast", size, "reference: batch norm + transposed conv, fp32", ms, mb))
    ref_ms = ms
    for prec, cl in (("fp32", False), ("bf16", False), ("bf16", True), ("fp32", True)):
        net = ours.to(memory_format=torch.channels_last if cl else torch.contiguous_format)
        xi = x.contiguous(memory_format=torch.channels_last) if cl else x

        def run(net=net, xi=xi, prec=prec):
            with autocast(device, prec):
                return net(xi).float().clamp(0, 1)

        ms, mb = measure(run, device, repeats)
        rows.append(("fast", size, f"ganstyle {prec}{' channels_last' if cl else ''}", ms, mb))
    return [dict(net=n, size=s, impl=i, ms=round(m, 2), peak_mb=round(p, 1), speedup_vs_reference=round(ref_ms / m, 2) if m else None)
            for n, s, i, m, p in rows]


def bench_adain(size, device, repeats):
    content = torch.rand(1, 3, size, size, device=device)
    # stylize_adain shrinks style images to a 512 px long side by default.
    style = torch.rand(1, 3, min(size, 512), min(size, 512), device=device)
    enc_ref, dec_ref = plain_vgg_encoder().to(device).eval(), plain_decoder().to(device).eval()
    encoder = vgg19_architecture("max").to(device).eval()
    decoder = Decoder(512, 64).to(device).eval()

    def reference():
        c = enc_ref(content)
        s = enc_ref(style)
        return dec_ref(plain_adain(c, s)).clamp(0, 1)

    rows = []
    ref_ms, mb = measure(reference, device, repeats)
    rows.append(("adain", size, "reference: plain VGG encoder/decoder, fp32", ref_ms, mb))
    for prec in ("fp32", "bf16"):
        def run(prec=prec):
            with autocast(device, prec):
                s = encoder(style, ["relu4_1"])["relu4_1"].float()
                f = encoder(content, ["relu4_1"])["relu4_1"].float()
                t = adain_target(f, [mean_std(s)])
                return decoder(t, [size, size]).float().clamp(0, 1)

        ms, mb = measure(run, device, repeats)
        rows.append(("adain", size, f"ganstyle {prec}", ms, mb))
    return [dict(net=n, size=s, impl=i, ms=round(m, 2), peak_mb=round(p, 1), speedup_vs_reference=round(ref_ms / m, 2) if m else None)
            for n, s, i, m, p in rows]


def bench_training(device, repeats, width, size=256):
    """Seconds per optimisation step at the papers' settings (fast: batch 4, adain: batch 8,
    256 px crops, VGG-19-sized backbone), fp32 and bf16: what a training run costs here."""
    from ganstyle.style.losses import adain, adain_style_loss, content_loss, gram_targets, style_loss, tv_loss

    vgg = vgg19_architecture("max").to(device).eval().requires_grad_(False)
    rows = []
    net = TransformNet(width).to(device)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    style_layers = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    with torch.no_grad():
        grams = gram_targets(vgg(torch.rand(1, 3, size, size, device=device), style_layers))
    content = torch.rand(4, 3, size, size, device=device)
    for prec in ("fp32", "bf16"):
        def fast_step(prec=prec):
            with torch.enable_grad(), autocast(device, prec):
                target = vgg(content, ["relu2_2"])["relu2_2"].detach()
                out = net(content)
                f = vgg(out, style_layers)
                loss = content_loss(f["relu2_2"], target) + 1e5 * style_loss(f, grams) + tv_loss(out)
            opt.zero_grad()
            loss.backward()
            opt.step()

        ms, _ = measure(fast_step, device, repeats)
        rows.append(("train fast", size, f"batch 4, {prec}", ms, float("nan")))
    dec = Decoder(512, 64).to(device)
    opt = torch.optim.Adam(dec.parameters(), 1e-4)
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]
    c, st = torch.rand(8, 3, size, size, device=device), torch.rand(8, 3, size, size, device=device)
    for prec in ("fp32", "bf16"):
        def adain_step(prec=prec):
            with torch.enable_grad(), autocast(device, prec):
                with torch.no_grad():
                    sf = vgg(st, layers)
                    t = adain(vgg(c, ["relu4_1"])["relu4_1"].float(), sf["relu4_1"].float())
                out = dec(t, [size, size])
                f = vgg(out, layers)
                loss = content_loss(f["relu4_1"], t) + 10 * adain_style_loss(f, sf)
            opt.zero_grad()
            loss.backward()
            opt.step()

        ms, _ = measure(adain_step, device, repeats)
        rows.append(("train adain", size, f"batch 8, {prec}", ms, float("nan")))
    return [dict(net=n, size=s, impl=i, ms=round(m, 1), peak_mb=p, speedup_vs_reference=None)
            for n, s, i, m, p in rows]


def run_all(args, device) -> list[dict]:
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        if "fast" in args.nets:
            rows += bench_fast(size, device, args.repeats, args.width)
        if "adain" in args.nets:
            rows += bench_adain(size, device, args.repeats)
    if args.train and not MEMORY_ONLY:
        rows += bench_training(device, max(1, args.repeats - 1), args.width)
    return rows


def cpu_peaks(argv: list[str]) -> dict[tuple, float]:
    """Peak MB per setting, measured in a child process whose glibc returns freed memory to
    the OS at once (so the resident set tracks live tensors and VmHWM gives each pass's peak)."""
    import subprocess

    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="65536")
    out = subprocess.run([sys.executable, __file__, *argv, "--memory-child"], env=env, check=True,
                         capture_output=True, text=True).stdout
    rows = json.loads(out.strip().splitlines()[-1])
    return {(r["net"], r["size"], r["impl"]): r["peak_mb"] for r in rows}


def main(argv=None):
    global MEMORY_ONLY
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="256,512,1024", help="image sides in px (default: 256,512,1024)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per setting, median reported (default: 3)")
    p.add_argument("--width", type=int, default=32, help="fast network width (default: 32, the paper's)")
    p.add_argument("--nets", default="fast,adain", help="which networks (default: fast,adain)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--out", default="runs/bench/style_nets_speed.json", help="JSON results file")
    p.add_argument("--train", action="store_true", help="also time training steps (papers' batch sizes, 256 px)")
    p.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    if args.memory_child:
        MEMORY_ONLY = True
        print(json.dumps(run_all(args, device)))
        return
    peaks = cpu_peaks(argv) if device.type == "cpu" else {}
    rows = run_all(args, device)
    for r in rows:
        r["peak_mb"] = peaks.get((r["net"], r["size"], r["impl"]), r["peak_mb"])
    print(f"{'net':11s} {'size':>5s}  {'implementation':48s} {'ms':>10s}  {'peak MB':>8s}  vs reference")
    for r in rows:
        ratio = f"x{r['speedup_vs_reference']:.2f}" if r["speedup_vs_reference"] else ""
        if r["peak_mb"] != r["peak_mb"]:  # NaN: not measured (training steps)
            r["peak_mb"] = None
        peak = f"{r['peak_mb']:8.1f}" if r["peak_mb"] is not None else f"{'-':>8s}"
        print(f"{r['net']:11s} {r['size']:5d}  {r['impl']:48s} {r['ms']:10.1f}  {peak}  {ratio}")
    meta = {"torch": torch.__version__, "device": str(device), "threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(), "repeats": args.repeats, "width": args.width,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "peak_memory": "RSS growth during one pass (glibc mmap threshold 64 KiB)" if device.type == "cpu"
            else "torch.cuda.max_memory_allocated growth"}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
