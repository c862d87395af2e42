"""``ganstyle train-style`` (fast / AdaIN networks) and ``ganstyle export-style`` (TorchScript, ONNX)."""

from __future__ import annotations

import argparse
import sys

from ganstyle.config import add_dataclass_args, read_config_file, resolve_config
from ganstyle.errors import GanstyleError

TRAIN_EPILOG = """examples:
  ganstyle train-style --method fast --style starry.jpg --content-dir photos/ --out models/starry
  ganstyle train-style --method adain --content-dir photos/ --style-dir paintings/ --out models/adain
  ganstyle train-style --resume models/starry --steps 40000      # continue a run
  ganstyle train-style --config models/starry/config.toml --out models/starry2   # same settings
"""


class _Deprecated(argparse.Action):
    """An old flag spelling: still works for one release, with a one-line notice."""

    def __init__(self, *args, new: str, **kw):
        self.new = new
        super().__init__(*args, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"warning: {option_string} is deprecated; use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def register(sub) -> None:
    from ganstyle.style.methods import METHODS, trainable_methods
    from ganstyle.style.model import StyleTrainConfig

    names = trainable_methods()
    p = sub.add_parser(
        "train-style", help="train a feed-forward style network: " + ", ".join(names),
        description="Train a feed-forward style network. "
                    + "; ".join(f"--method {n}: {METHODS[n].summary}" for n in names)
                    + ". Unset flags take the method's defaults from the papers; config.toml in --out records them. "
                    "Ctrl-C or SIGTERM saves a checkpoint and prints the --resume command.",
        epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="FILE", help="settings file (.toml/.yaml/.json); flags override it")
    p.add_argument("--resume", nargs="?", const="", default=None, metavar="RUN_DIR",
                   help="continue this run from its newest checkpoint (settings from its config.toml; "
                        "flags such as --steps override them)")
    add_dataclass_args(p, StyleTrainConfig, exclude=("backbone_fingerprint",))
    method = next(a for a in p._actions if a.dest == "method")
    method.choices, method.metavar = names, None
    p.add_argument("--checkpoint-every", dest="ckpt_every", type=int, default=argparse.SUPPRESS,
                   action=_Deprecated, new="--ckpt-every", help=argparse.SUPPRESS)
    p.set_defaults(func=_train)

    e = sub.add_parser(
        "export-style", help="export a fast style network to TorchScript or ONNX",
        description="Export a --method fast model to a standalone TorchScript (.pt) or ONNX (.onnx) file: "
                    "input 'image' (B, 3, H, W) float32 in [0, 1], any H and W; output the stylised image. "
                    "ONNX needs the optional extra: pip install 'ganstyle[onnx]'.")
    e.add_argument("model_dir", metavar="MODEL_DIR", help="a folder written by 'ganstyle train-style --method fast'")
    e.add_argument("--format", choices=("torchscript", "onnx"), default="torchscript", help="(default: torchscript)")
    e.add_argument("--out", required=True, metavar="FILE", help="file to write (e.g. starry.pt or starry.onnx)")
    e.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    e.add_argument("--no-check", dest="check", action="store_false",
                   help="skip comparing the exported model's output with PyTorch's")
    e.set_defaults(func=_export)


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ganstyle.distributed import is_main_process
    from ganstyle.style.model import StyleTrainConfig, upgrade_config
    from ganstyle.style.train import train_style

    resume, out = args.resume, getattr(args, "out", None)
    if resume == "":  # the old form: --out RUN --resume
        if not out:
            raise GanstyleError("--resume: give the run directory to continue (--resume RUN_DIR)")
        print(f"warning: '--out DIR --resume' is deprecated; use --resume {out}", file=sys.stderr)
        resume = out
    elif resume and out and Path(out) != Path(resume):
        raise GanstyleError("give one of --out NEW_RUN_DIR or --resume RUN_DIR, not both")
    base = None
    if resume:
        if not Path(resume).is_dir():
            raise GanstyleError(f"--resume {resume}: no such run directory")
        if not (Path(resume) / "config.toml").is_file():
            raise GanstyleError(f"--resume {resume}: not a style training run (no config.toml)")
        base = upgrade_config(read_config_file(Path(resume) / "config.toml"))  # a resumed run keeps its settings
    cfg = resolve_config(StyleTrainConfig, args, config_path=args.config, base=base)
    model_dir = train_style(cfg, resume=resume or None)
    if is_main_process():  # one line per job, not one per torchrun process
        print(f"model: {model_dir}  (final.safetensors, samples/, metrics.csv, losses.png)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from ganstyle.style.export import export_style

    path = export_style(args.model_dir, args.out, args.format, check=args.check, overwrite=args.overwrite)
    print(f"exported: {path}")
    return 0
