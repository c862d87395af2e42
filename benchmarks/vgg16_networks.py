"""A fast (Johnson) network and an AdaIN decoder trained briefly on real VGG-16 features, then
judged with ``style-eval`` on held-out photos.

Builds the offline photos/paintings with ``style_data.py``, trains ``--method fast`` for one
painting and ``--method adain`` on the painting folder, both with ``--backbone vgg16 --weights
FILE`` at a small fixed step count (CPU time recorded), stylises the held-out photos with both
(and, for reference in the same run, the shipped AdaIN model and the photo itself), and
measures every output with the VGG-16 judge. ``--random`` also trains the same two recipes on
the random backbone. Writes ``results.json`` and ``panel.png`` (photo | style | fast | adain)
to ``--out``.

    python benchmarks/vgg16_networks.py --style-dir ../shared/data/style \
        --weights ../shared/data/weights/vgg16_imagenet_hed.safetensors --out runs/vgg16_networks

The judge uses the same VGG-16 weights as the training losses, so its figures favour the
trained networks over the shipped model (trained on another backbone).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import style_data  # noqa: E402
from instant_style_grid import fit, grid_of  # noqa: E402  (crop/resize and layout, as in the README grid)

from ganstyle.io.images import save_image  # noqa: E402
from ganstyle.style.api import stylize  # noqa: E402
from ganstyle.style.evaluate import style_eval  # noqa: E402
from ganstyle.style.inputs import load_content  # noqa: E402
from ganstyle.style.train import train_style  # noqa: E402


def cpu_seconds() -> float:
    return time.process_time()


def train(label: str, out: Path, budget: float, first_steps: int, precision: str, **cfg) -> dict:
    """Train for about ``budget`` CPU-seconds: ``first_steps`` steps, then resume (exactly, from the
    final checkpoint) to the step count the measured rate says fits in what is left."""
    w0, c0 = time.perf_counter(), cpu_seconds()
    steps = first_steps
    # a dict config: train_style's own ``backbone=`` keyword takes a ready network, not a name
    path = train_style(dict(out=str(out), device="cpu", precision=precision, sample_every=0, ckpt_every=0,
                            log_every=10, steps=steps, **cfg), progress=False)
    chunks = [steps]
    while True:
        used = cpu_seconds() - c0
        more = int((budget - used) / (used / steps))  # the rate includes the per-chunk start-up: conservative
        if more < max(5, steps // 10):
            break
        steps += more
        chunks.append(more)
        train_style(resume=path, steps=steps, progress=False)
    rec = {"cpu_s": round(cpu_seconds() - c0, 1), "wall_s": round(time.perf_counter() - w0, 1), "steps": steps,
           "chunks": chunks, "precision": precision, "model": str(path),
           **{k: v for k, v in cfg.items() if k not in ("content_dir", "style_dir", "style")}}
    last = _last_losses(path)
    if last:
        rec["last_losses"] = last
    print(f"{label}: {rec['cpu_s']} CPU-s, {rec['wall_s']} s wall, {steps} steps, last {last}", flush=True)
    return rec


def _last_losses(run: Path) -> dict:
    f = run / "metrics.jsonl"
    if not f.is_file():
        return {}
    rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return {k: round(v, 4) for k, v in rows[-1].items() if isinstance(v, float)} if rows else {}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--style-dir", required=True, help="folder of the classic paintings and content photos")
    p.add_argument("--weights", required=True, help="VGG-16 weights (torchvision key layout)")
    p.add_argument("--out", required=True, help="output folder (data/, models/, outputs/, results.json, panel.png)")
    p.add_argument("--painting", default="starry_night", help="the fast network's painting (and the test style)")
    p.add_argument("--photos", default="golden_gate,hoovertowernight", help="held-out photos to stylise")
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--budget", type=float, default=360, help="CPU-seconds of training per model")
    p.add_argument("--first-steps", type=int, default=10, help="steps before the rate is measured")
    p.add_argument("--precision", default="auto", help="training precision (auto: bf16 where native)")
    p.add_argument("--fast-width", type=int, default=16)
    p.add_argument("--fast-batch", type=int, default=4)
    p.add_argument("--adain-width", type=int, default=32)
    p.add_argument("--adain-batch", type=int, default=4)
    p.add_argument("--size", type=int, default=256, help="long side the held-out photos are stylised and judged at")
    p.add_argument("--random", action="store_true", help="also train both recipes on the random backbone")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data"
    holdout = list(style_data.DEFAULT_HOLDOUT)
    if not (data / "photos").is_dir():
        style_data.main(["--style-dir", args.style_dir, "--out", str(data), "--size", "384",
                         "--holdout", ",".join(holdout), "--seed", str(args.seed)])
    painting = data / "paintings" / f"{args.painting}.png"
    photos = [data / "test_photos" / f"{n}.png" for n in args.photos.split(",")]
    for f in [painting, *photos]:
        if not f.is_file():
            raise SystemExit(f"{f}: not in the built data (is it held out, or missing from --style-dir?)")

    results: dict = {"weights": Path(args.weights).name, "threads": torch.get_num_threads(),
                     "image_size": args.image_size, "budget_cpu_s": args.budget, "eval_size": args.size, "painting": args.painting,
                     "train": {}, "eval": {}}
    backbones = [("vgg16", args.weights)] + ([("random", None)] if args.random else [])
    models: dict[str, Path] = {}
    for bb, weights in backbones:
        common = dict(budget=args.budget, first_steps=args.first_steps, precision=args.precision, backbone=bb,
                      weights=weights, image_size=args.image_size, content_dir=str(data / "photos"), seed=args.seed)
        key = f"fast/{bb}"
        results["train"][key] = train(key, out / "models" / f"fast_{bb}", method="fast", style=str(painting),
                                      width=args.fast_width, batch_size=args.fast_batch, **common)
        models[key] = Path(results["train"][key]["model"])
        key = f"adain/{bb}"
        results["train"][key] = train(key, out / "models" / f"adain_{bb}", method="adain",
                                      style_dir=str(data / "paintings"),
                                      width=args.adain_width, batch_size=args.adain_batch, **common)
        models[key] = Path(results["train"][key]["model"])
        (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")

    from ganstyle.style.backbones import build_backbone

    judge = build_backbone("vgg16", args.weights, pooling="avg", seed=0, device="cpu")
    (out / "outputs").mkdir(exist_ok=True)
    h, w = 200, 267
    rows = []
    for photo in photos:
        content = load_content(photo, "white", args.size)[0]
        row = [fit(content, h, w), fit(load_content(painting, "white", 512)[0], h, w)]
        runs = [("photo itself", None)] + [(k, m) for k, m in models.items()] + [("adain/shipped model", "shipped")]
        for label, model in runs:
            c0, w0 = cpu_seconds(), time.perf_counter()
            if model is None:
                img = content
            elif model == "shipped":
                img = stylize(photo, [painting], method="adain", size=args.size, device="cpu", precision="fp32")
            elif label.startswith("fast"):
                img = stylize(photo, [], method="fast", model=str(model), size=args.size, device="cpu",
                              precision="fp32")
            else:
                img = stylize(photo, [painting], method="adain", model=str(model), size=args.size, device="cpu",
                              precision="fp32")
            cpu, wall = cpu_seconds() - c0, time.perf_counter() - w0
            ev = style_eval(img, photo, painting, backbone_net=judge, device="cpu")
            rec = {"stylise_cpu_s": round(cpu, 2), "stylise_wall_s": round(wall, 2),
                   **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in ev.items()}}
            results["eval"].setdefault(label, {})[photo.stem] = rec
            print(f"{photo.stem} / {label}: content {ev['content_loss']:.3f} style {ev['style_loss']:.3f} "
                  f"SSIM {ev['ssim']:.3f} colour SWD {ev['color_swd']:.3f} ({cpu:.2f} CPU-s)", flush=True)
            if model is not None:
                save_image(img, out / "outputs" / f"{photo.stem}_{label.replace('/', '_').replace(' ', '_')}.png")
            if label in ("fast/vgg16", "adain/vgg16"):
                row.append(fit(img, h, w))
        rows.append(row)
    # averages over the photos
    results["mean"] = {
        label: {k: round(sum(r[k] for r in per.values()) / len(per), 4)
                for k in ("content_loss", "style_loss", "ssim", "color_swd")}
        for label, per in results["eval"].items()}
    save_image(grid_of(rows, h), out / "panel.png")
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["mean"], indent=1))
    print(f"wrote {out / 'results.json'} and {out / 'panel.png'}")


if __name__ == "__main__":
    main()
