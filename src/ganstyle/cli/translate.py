"""``ganstyle translate-train``, ``translate`` and ``translate-eval``: thin layers over
:func:`ganstyle.translate.train_translation`, :func:`~ganstyle.translate.translate_images`
and :func:`~ganstyle.translate.evaluate_translation`. Training flags come from
:class:`TranslateConfig` and the model configs (:class:`CycleGANConfig`, :class:`MUNITConfig`)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path


def _model_field_names() -> tuple[set[str], set[str]]:
    from ganstyle.translate.cyclegan import CycleGANConfig
    from ganstyle.translate.munit import MUNITConfig

    return {f.name for f in dataclasses.fields(CycleGANConfig)}, {f.name for f in dataclasses.fields(MUNITConfig)}


def register(sub) -> None:
    from ganstyle.config import add_dataclass_args
    from ganstyle.translate.cyclegan import CycleGANConfig
    from ganstyle.translate.munit import MUNITConfig
    from ganstyle.translate.trainer import TranslateConfig

    p = sub.add_parser(
        "translate-train",
        help="train unpaired image-to-image translation (CycleGAN or MUNIT-lite) into a run directory",
        description="Train a translator between two unpaired image domains. Settings: defaults < --config FILE "
                    "(< the run's own config with --resume) < flags; the resolved config is written to RUN/config.toml. "
                    "Model flags shared by both models take each model's own default (munit: --n-res-blocks 2, "
                    "--cycle-weight 0).",
        epilog="examples:\n  ganstyle translate-train --model cyclegan --domain-a digits --steps 2000 --out runs/cyc\n"
               "  ganstyle translate-train --model munit --domain-a photos/ --domain-b paintings/ --image-size 64 --out runs/mu\n"
               "  ganstyle translate-train --resume runs/cyc --steps 4000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", metavar="RUN_DIR", help="new run directory")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its newest checkpoint")
    p.add_argument("--config", metavar="FILE", help="settings file (.toml, .yaml or .json), e.g. another run's config.toml")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_dataclass_args(p, TranslateConfig)
    add_dataclass_args(p.add_argument_group("cyclegan (and shared) model settings"), CycleGANConfig)
    cyclegan_names, _ = _model_field_names()
    add_dataclass_args(p.add_argument_group("munit model settings"), MUNITConfig, exclude=tuple(cyclegan_names))
    p.set_defaults(func=_train)

    t = sub.add_parser(
        "translate",
        help="translate images or folders with a trained translation run",
        description="Translate each input image (files, or folders searched recursively) with the newest checkpoint "
                    "of RUN. --out NAME.png for one input, else a folder receiving one PNG per input.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    t.add_argument("run", metavar="RUN", help="translation run directory or checkpoint (step_XXXXXXXX.json)")
    t.add_argument("inputs", metavar="INPUT", nargs="+", help="image files or folders")
    t.add_argument("--out", required=True, help="output image (one input) or folder")
    t.add_argument("--direction", default="a2b", choices=("a2b", "b2a"), help="translate domain A to B, or B to A")
    t.add_argument("--n-styles", type=int, default=1, metavar="K",
                   help="munit: a row of the input and K translations with random style codes")
    t.add_argument("--style-ref", metavar="IMG", default=None, help="munit: use the style of this target-domain image")
    t.add_argument("--size", type=int, default=None, help="resize and centre-crop inputs to this side (default: the run's)")
    t.add_argument("--seed", type=int, default=0, help="seed of the random style codes")
    t.add_argument("--overwrite", action="store_true", help="replace existing output files")
    t.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    t.set_defaults(func=_translate)

    e = sub.add_parser(
        "translate-eval",
        help="measure a translation run: content kept, FID/KID to the target domain, looks-like-B rate, MUNIT diversity",
        description="Train small judges on the run's two domains (seconds) and measure the newest checkpoint's A -> B "
                    "translations of held-out inputs. Figures go to --json and to RUN/metrics.jsonl.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    e.add_argument("run", metavar="RUN", help="translation run directory")
    e.add_argument("--n", type=int, default=None, help="measure at most this many inputs (default: all held-out ones)")
    e.add_argument("--json", metavar="FILE", default=None, help="write the result as JSON")
    e.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    e.add_argument("--seed", type=int, default=0, help="seed of the judges and of MUNIT style codes")
    e.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    e.add_argument("--no-log", action="store_true", help="do not append the result to the run's metrics files")
    e.set_defaults(func=_evaluate)


def _given(args, names: set[str]) -> dict:
    return {k: v for k, v in vars(args).items() if k in names}


def _train(args) -> int:
    from ganstyle.config import read_config_file
    from ganstyle.errors import GanstyleError
    from ganstyle.translate.trainer import TranslateConfig, split_settings, train_translation

    if bool(args.out) == bool(args.resume):
        raise GanstyleError("give exactly one of --out NEW_RUN_DIR or --resume RUN_DIR")
    cyclegan_names, munit_names = _model_field_names()
    run_names = {f.name for f in dataclasses.fields(TranslateConfig)}
    data = dict(read_config_file(args.config)) if args.config else {}
    data.update(_given(args, run_names | cyclegan_names | munit_names))
    if args.resume:
        run = train_translation(resume=args.resume, progress=not args.no_progress, **data)
    else:
        model = data.get("model", TranslateConfig.model)
        own = cyclegan_names if model == "cyclegan" else munit_names
        stray = sorted(k for k in data if k not in run_names and k not in own)
        if stray:
            raise GanstyleError(f"--{stray[0].replace('_', '-')}: not a setting of --model {model}")
        cfg, model_cfg = split_settings(data, str(args.config or "command line"))
        run = train_translation(cfg, model_cfg, out=args.out, progress=not args.no_progress)
    print(f"run: {run}  (samples: {Path(run) / 'samples'}, losses: {Path(run) / 'losses.png'})")
    return 0


def _translate(args) -> int:
    from ganstyle.translate.api import translate_images

    written = translate_images(args.run, args.inputs, args.out, direction=args.direction, n_styles=args.n_styles,
                               style_ref=args.style_ref, size=args.size, seed=args.seed, overwrite=args.overwrite,
                               device=args.device)
    print(f"wrote {written[0]}" if len(written) == 1 else f"wrote {len(written)} images to {args.out}")
    return 0


def _evaluate(args) -> int:
    from ganstyle.errors import GanstyleError
    from ganstyle.metrics.evaluate import format_table
    from ganstyle.translate.evaluate import evaluate_translation

    if args.json:
        path = Path(args.json)
        if path.is_dir():
            raise GanstyleError(f"--json {path}: is a folder")
        if path.exists() and not args.overwrite:
            raise GanstyleError(f"--json {path}: exists; pass --overwrite to replace it")
    result = evaluate_translation(args.run, n=args.n, json_path=args.json, seed=args.seed, device=args.device,
                                  log=not args.no_log)
    print(format_table(result))
    print("judges' accuracy on held-out images: " + ", ".join(f"{k} {v:.3f}" for k, v in result["judges"].items()))
    if args.json:
        print(f"wrote {args.json}")
    return 0
