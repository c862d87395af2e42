"""``ganstyle stylize`` and ``ganstyle style-eval``, with flags generated from the config dataclasses.

``stylize`` has one flag per field of any registered method's config (a field several
methods share is one flag); a flag the chosen ``--method`` does not use is an error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from pathlib import Path

from ganstyle.config import add_dataclass_args, flag_name, from_dict
from ganstyle.errors import GanstyleError

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


def stylize_options_class() -> type:
    """One dataclass with every registered method's config fields, for generating the flags.

    A field several methods share becomes one flag; its help says which methods read it and,
    where their defaults differ, each one's default.
    """
    from ganstyle.style.methods import METHODS

    seen: dict[str, list] = {}  # field name -> [type, help, choices, [(method, default)]]
    for name, method in METHODS.items():
        hints = typing.get_type_hints(method.config_class)
        for f in dataclasses.fields(method.config_class):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            entry = seen.setdefault(f.name, [hints[f.name], f.metadata.get("help", ""), f.metadata.get("choices"), []])
            entry[3].append((name, default))
    fields = []
    for fname, (tp, help_text, choices, users) in seen.items():
        defaults = {repr(d) for _, d in users}
        if len(users) < len(METHODS):
            help_text = f"[{'/'.join(m for m, _ in users)}] {help_text}"
        if len(defaults) == 1:
            default = users[0][1]
            shown = "" if default in (None, "", []) else f" (default: {default})"
        else:  # e.g. --size: "gatys 512; fast/adain as is"
            by_default: dict[str, list[str]] = {}
            for m, d in users:
                by_default.setdefault("as is" if d is None else str(d), []).append(m)
            shown = " (default: " + "; ".join(f"{'/'.join(ms)} {d}" for d, ms in by_default.items()) + ")"
        meta = {"help": help_text + shown}
        if choices:
            meta["choices"] = choices
        fields.append((fname, tp | None, dataclasses.field(default=None, metadata=meta)))
    return dataclasses.make_dataclass("StylizeOptions", fields)


def _action(parser: argparse.ArgumentParser, dest: str) -> argparse.Action:
    return next(a for a in parser._actions if a.dest == dest)


def register(sub) -> None:
    from ganstyle.style.evaluate import StyleEvalConfig
    from ganstyle.style.methods import METHODS

    p = sub.add_parser(
        "stylize", help="neural style transfer: " + ", ".join(METHODS),
        description="Render CONTENT in the style of STYLE (several styles are blended). Methods: "
                    + "; ".join(f"{n}: {m.summary}" for n, m in METHODS.items()) + ". Flags marked [METHODS] "
                    "apply to those methods only.",
        epilog=STYLIZE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("content", metavar="CONTENT", help="the photo to stylise (any format/mode Pillow reads), "
                   "or a folder of photos (then --out is a folder)")
    p.add_argument("styles", metavar="STYLE", nargs="*", help="style image(s); not used by --method fast")
    p.add_argument("--out", required=True, metavar="FILE", help="output image (.png or .jpg); never an input")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--method", choices=tuple(METHODS), default="gatys", help="(default: gatys)")
    p.add_argument("--keep-alpha", action="store_true",
                   help="put the content's transparency back on the output (default: composite it on white)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (same as --no-progress)")
    add_dataclass_args(p, stylize_options_class())
    # Old spellings kept: --preserve-color alone means luminance; --mask takes one file per style.
    preserve = _action(p, "preserve_color")
    preserve.nargs, preserve.const = "?", "luminance"
    if any(a.dest == "mask" for a in p._actions):
        _action(p, "mask").nargs = "+"
    p.set_defaults(func=_stylize)

    e = sub.add_parser(
        "style-eval", help="measure a stylised image: content loss, style loss, SSIM, colour distance",
        description="Compare OUT with its CONTENT and STYLE: content loss (relu4_2) and Gram style loss "
                    "(relu1_1..relu5_1) under a backbone, SSIM of the luminance against the content, "
                    "and the sliced Wasserstein distance between OUT's and STYLE's RGB colours.")
    e.add_argument("out", metavar="OUT")
    e.add_argument("content", metavar="CONTENT")
    e.add_argument("style", metavar="STYLE")
    add_dataclass_args(e, StyleEvalConfig)
    e.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                   help="print JSON (or write it to FILE) instead of a table")
    e.add_argument("--overwrite", action="store_true", help="replace the --json FILE if it exists")
    e.set_defaults(func=_style_eval)


def _stylize(args: argparse.Namespace) -> int:
    from ganstyle.style.api import stylize
    from ganstyle.style.methods import get_method

    method = get_method(args.method)
    names = {f.name for f in dataclasses.fields(method.config_class)}
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(stylize_options_class()) if hasattr(args, f.name)}
    unused = sorted(set(given) - names)
    if unused:
        raise GanstyleError(f"{flag_name(unused[0])}: not used by --method {args.method}")
    if args.quiet and "progress" in names:
        given["progress"] = False
    config = from_dict(method.config_class, given, source="command line")
    intermediate = None
    if getattr(config, "save_every", 0):
        intermediate = str(Path(args.out).with_suffix(""))
    alpha_mode = "keep" if args.keep_alpha else "white"
    if Path(args.content).is_dir():
        from ganstyle.style.folder import stylize_folder

        options = {k: getattr(config, k) for k in given}
        paths = stylize_folder(args.content, args.styles, method=args.method, out=args.out, overwrite=args.overwrite,
                               alpha_mode=alpha_mode, **options)
        print(f"wrote {len(paths)} image(s) to {args.out}")
        return 0
    path = stylize(args.content, args.styles, config, method=args.method, out=args.out, overwrite=args.overwrite,
                   alpha_mode=alpha_mode, intermediate=intermediate)
    print(f"wrote {path}")
    return 0


def _style_eval(args: argparse.Namespace) -> int:
    from ganstyle.io.images import atomic_write_text
    from ganstyle.style.api import check_output
    from ganstyle.style.evaluate import StyleEvalConfig, style_eval

    if args.json not in (None, "-"):
        check_output(args.json, [args.out, args.content, args.style], overwrite=args.overwrite, suffixes=(".json",),
                     flag="--json")
    names = {f.name for f in dataclasses.fields(StyleEvalConfig)}
    config = from_dict(StyleEvalConfig, {k: v for k, v in vars(args).items() if k in names}, source="command line")
    result = style_eval(args.out, args.content, args.style, config)
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
