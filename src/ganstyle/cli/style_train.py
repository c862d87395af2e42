"""``ganstyle train-style`` (fast / AdaIN networks) and ``ganstyle export-style`` (TorchScript, ONNX)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganstyle.config import add_dataclass_args, read_config_file, resolve_config

TRAIN_EPILOG = """examples:
  ganstyle train-style --method fast --style starry.jpg --content-dir photos/ --out models/starry
  ganstyle train-style --method adain --content-dir photos/ --style-dir paintings/ --out models/adain
  ganstyle train-style --out models/starry --resume --steps 40000      # continue a run
  ganstyle train-style --config models/starry/config.toml --out models/starry2   # same settings
"""


def register(sub) -> None:
    from ganstyle.style.methods import METHODS, trainable_methods
    from ganstyle.style.model import StyleTrainConfig

    names = trainable_methods()
    p = sub.add_parser(
        "train-style", help="train a feed-forward style network: " + ", ".join(names),
        description="Train a feed-forward style network. "
                    + "; ".join(f"--method {n}: {METHODS[n].summary}" for n in names)
                    + ". Unset flags take the method's defaults from the papers; config.toml in --out records them.",
        epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="FILE", help="settings file (.toml/.yaml/.json); flags override it")
    add_dataclass_args(p, StyleTrainConfig, exclude=("backbone_fingerprint",))
    method = next(a for a in p._actions if a.dest == "method")
    method.choices, method.metavar = names, None
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
    from ganstyle.distributed import is_main_process
    from ganstyle.style.model import StyleTrainConfig
    from ganstyle.style.train import train_style

    base = None
    out = getattr(args, "out", None)
    if getattr(args, "resume", False) and out and (Path(out) / "config.toml").is_file():
        base = read_config_file(Path(out) / "config.toml")  # a resumed run keeps its settings
    cfg = resolve_config(StyleTrainConfig, args, config_path=args.config, base=base)
    model_dir = train_style(cfg)
    if is_main_process():  # one line per job, not one per torchrun process
        print(f"model: {model_dir}  (final.safetensors, samples/, metrics.csv, losses.png)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from ganstyle.style.export import export_style

    path = export_style(args.model_dir, args.out, args.format, check=args.check, overwrite=args.overwrite)
    print(f"exported: {path}")
    return 0
