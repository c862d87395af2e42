"""``ganstyle stylize`` and ``ganstyle style-eval``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ganstyle.errors import GanstyleError
from ganstyle.style.backbones import BACKBONE_CHOICES

STYLIZE_EPILOG = """examples:
  ganstyle stylize photo.jpg starry.jpg --out out.png                      # Gatys, 512 px
  ganstyle stylize photo.jpg starry.jpg --out big.png --size 1024 --scales 3
  ganstyle stylize photo.jpg a.jpg b.jpg --style-blend 0.7,0.3 --out mix.png
  ganstyle stylize photo.jpg starry.jpg --preserve-color --out keep_colours.png
  ganstyle stylize photo.jpg --method fast --model models/starry --out fast.png
  ganstyle stylize photo.jpg starry.jpg --method adain --model models/adain --alpha 0.6 --out adain.png
Without VGG-19 weights (--weights PATH, $GANSTYLE_VGG19_WEIGHTS or the torch hub cache) the
random-filter backbone is used; it needs no download.
"""


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def register(sub) -> None:
    from ganstyle.style.gatys import COLOR_MODES, INITS, OPTIMIZERS, GatysConfig

    d = GatysConfig()
    p = sub.add_parser(
        "stylize", help="neural style transfer: Gatys optimisation, fast network or AdaIN",
        description="Render CONTENT in the style of STYLE (several styles are blended). "
                    "--method gatys optimises the image (any style, minutes); fast and adain run a "
                    "network trained with 'ganstyle train-style' (milliseconds).",
        epilog=STYLIZE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("content", metavar="CONTENT", help="the photo to stylise (any format/mode Pillow reads), "
                   "or a folder of photos (then --out is a folder)")
    p.add_argument("styles", metavar="STYLE", nargs="*", help="style image(s); not used by --method fast")
    p.add_argument("--out", required=True, metavar="FILE", help="output image (.png or .jpg); never an input")
    p.add_argument("--method", choices=("gatys", "fast", "adain"), default="gatys", help="(default: gatys)")
    p.add_argument("--size", type=int, default=None, metavar="PX",
                   help=f"long side of the output (default: {d.size} for gatys, the content's own size for fast/adain)")
    p.add_argument("--iterations", type=int, default=d.iterations, metavar="N", help=f"gatys steps per scale (default: {d.iterations})")
    p.add_argument("--scales", type=int, default=d.scales, metavar="K",
                   help="gatys coarse-to-fine levels, each twice the size of the previous (default: 1)")
    p.add_argument("--scale-iterations", type=_ints, default=None, metavar="N1,N2,..",
                   help="gatys steps per scale, coarsest first (default: --iterations at each)")
    p.add_argument("--style-weight", type=float, default=d.style_weight, metavar="W", help=f"(default: {d.style_weight:g})")
    p.add_argument("--content-weight", type=float, default=d.content_weight, metavar="W", help=f"(default: {d.content_weight:g})")
    p.add_argument("--tv-weight", type=float, default=d.tv_weight, metavar="W",
                   help=f"total-variation weight, relative to the content's own TV (default: {d.tv_weight:g})")
    p.add_argument("--style-blend", type=_floats, default=None, metavar="W1,W2,..",
                   help="weights of the style images (default: equal)")
    p.add_argument("--style-scale", type=float, default=d.style_scale, metavar="S",
                   help="gatys: style image size relative to the output; smaller = finer brush strokes (default: 1)")
    p.add_argument("--preserve-color", nargs="?", const="luminance", default="none", choices=COLOR_MODES,
                   help="keep the content's colours: 'luminance' (the flag alone; transfer luma only) or "
                        "'histogram' (recolour the style to the content's colours first) (default: none)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer, help=f"(default: {d.optimizer})")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: 1 for lbfgs, 0.02 for adam)")
    p.add_argument("--init", choices=INITS, default=d.init, help=f"gatys starting image (default: {d.init})")
    p.add_argument("--save-every", type=int, default=0, metavar="K",
                   help="gatys: also write OUT_s<scale>_<step>.png every K steps (default: never)")
    p.add_argument("--alpha", type=float, default=1.0, metavar="A", help="adain style strength, 0 (content) .. 1 (default: 1)")
    p.add_argument("--mask", nargs="+", default=None, metavar="MASK",
                   help="adain: one grayscale mask per style saying where it applies")
    p.add_argument("--model", metavar="MODEL_DIR", help="fast/adain: folder written by 'ganstyle train-style' "
                   "(adain without --model: the model shipped with ganstyle)")
    p.add_argument("--backbone", choices=BACKBONE_CHOICES, default=d.backbone,
                   help="gatys feature network; auto = vgg19 if its weights are found, else random (default: auto)")
    p.add_argument("--weights", metavar="PATH", help="weights file of the chosen VGG backbone (.pth in its official layout or .safetensors)")
    p.add_argument("--pooling", choices=("max", "avg"), default=d.pooling, help=f"backbone pooling (default: {d.pooling})")
    p.add_argument("--keep-alpha", action="store_true",
                   help="put the content's transparency back on the output (default: composite it on white)")
    p.add_argument("--seed", type=int, default=0, help="(default: 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32",
                   help="bf16 is several times faster on CPUs with AMX/AVX512-BF16 (default: fp32)")
    p.add_argument("--tile", type=int, default=None, metavar="PX",
                   help="fast/adain: tile size (default: automatic from free memory; 0 = never)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_stylize)

    e = sub.add_parser(
        "style-eval", help="measure a stylised image: content loss, style loss, SSIM, colour distance",
        description="Compare OUT with its CONTENT and STYLE: content loss (relu4_2) and Gram style loss "
                    "(relu1_1..relu5_1) under a backbone, SSIM of the luminance against the content, "
                    "and the sliced Wasserstein distance between OUT's and STYLE's RGB colours.")
    e.add_argument("out", metavar="OUT")
    e.add_argument("content", metavar="CONTENT")
    e.add_argument("style", metavar="STYLE")
    e.add_argument("--backbone", choices=BACKBONE_CHOICES, default="auto", help="(default: auto)")
    e.add_argument("--weights", metavar="PATH", help="weights file of the chosen VGG backbone")
    e.add_argument("--size", type=int, default=None, metavar="PX",
                   help="evaluate at this long side (default: OUT's own size)")
    e.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                   help="print JSON (or write it to FILE) instead of a table")
    e.add_argument("--device", default="auto", help="(default: auto)")
    e.set_defaults(func=_style_eval)


def _stylize(args: argparse.Namespace) -> int:
    from ganstyle.style.api import stylize

    common = {"alpha_mode": "keep" if args.keep_alpha else "white"}
    if args.method == "gatys":
        options = dict(
            size=args.size or 512, iterations=args.iterations, scales=args.scales,
            scale_iterations=args.scale_iterations or [], style_weight=args.style_weight,
            content_weight=args.content_weight, tv_weight=args.tv_weight, style_blend=args.style_blend or [],
            style_scale=args.style_scale, preserve_color=args.preserve_color, optimizer=args.optimizer,
            lr=args.lr or 0.0, init=args.init, backbone=args.backbone, weights=args.weights,
            pooling=args.pooling, save_every=args.save_every, seed=args.seed, device=args.device,
            precision=args.precision, progress=not args.quiet,
        )
        if args.save_every:
            options["intermediate"] = str(Path(args.out).with_suffix(""))
    else:
        if args.model is None and args.method == "fast":
            raise GanstyleError(f"--method {args.method} needs --model MODEL_DIR (train one with 'ganstyle train-style')")
        options = dict(model=args.model, size=args.size, preserve_color=args.preserve_color,
                       device=args.device, precision=args.precision, tile=args.tile)
        if args.method == "adain":
            options.update(alpha=args.alpha, style_blend=args.style_blend, mask=args.mask)
    if Path(args.content).is_dir():
        from ganstyle.style.folder import stylize_folder

        paths = stylize_folder(args.content, args.styles, method=args.method, out=args.out,
                               overwrite=getattr(args, "overwrite", False), **common, **options)
        print(f"wrote {len(paths)} image(s) to {args.out}")
        return 0
    path = stylize(args.content, args.styles, method=args.method, out=args.out, **common, **options)
    print(f"wrote {path}")
    return 0


def _style_eval(args: argparse.Namespace) -> int:
    from ganstyle.io.images import atomic_write_text
    from ganstyle.style.evaluate import style_eval

    result = style_eval(args.out, args.content, args.style, backbone=args.backbone, weights=args.weights,
                        size=args.size, device=args.device)
    if args.json is not None:
        text = json.dumps(result, indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            atomic_write_text(args.json, text)
            print(f"wrote {args.json}")
        return 0
    for key, value in result.items():
        print(f"{key:>14}: {value:.5g}" if isinstance(value, float) else f"{key:>14}: {value}")
    return 0
