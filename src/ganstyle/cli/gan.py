"""``ganstyle train`` and ``ganstyle sample``: thin layers over :func:`ganstyle.train_gan`
and :func:`ganstyle.sample`. Every training flag comes from :class:`TrainConfig`."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    from ganstyle.config import add_dataclass_args
    from ganstyle.gan.config import TrainConfig
    from ganstyle.gan.sampling import SampleConfig

    p = sub.add_parser(
        "train",
        help="train a GAN (MLP on 2-D toys, DCGAN on images) into a run directory",
        description="Train a GAN. Settings come from defaults < --config FILE (< the run's own config with "
                    "--resume) < flags; the resolved config is written to RUN/config.toml.",
        epilog="examples:\n  ganstyle train --data ring8 --model mlp --out runs/ring8\n"
               "  ganstyle train --data digits --image-size 32 --model dcgan --out runs/digits\n"
               "  ganstyle train --resume runs/digits --steps 10000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", metavar="RUN_DIR", help="new run directory")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its newest checkpoint")
    p.add_argument("--config", metavar="FILE", help="settings file (.toml, .yaml or .json), e.g. another run's config.toml")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_dataclass_args(p, TrainConfig)
    p.set_defaults(func=_train)

    s = sub.add_parser(
        "sample",
        help="draw samples from a trained GAN (grid PNG, image folder, .npz, scatter plot, interpolations)",
        description="Draw samples from the averaged generator of a run (newest checkpoint) or a checkpoint file. "
                    "Every flag is a field of ganstyle.gan.sampling.SampleConfig.",
    )
    s.add_argument("source", metavar="RUN_OR_CHECKPOINT", help="run directory or checkpoint (step_XXXXXXXX.json)")
    add_dataclass_args(s, SampleConfig)
    s.set_defaults(func=_sample)


def _train(args) -> int:
    from ganstyle.config import resolve_config
    from ganstyle.distributed import is_main_process
    from ganstyle.errors import GanstyleError
    from ganstyle.gan.trainer import TrainConfig, load_run_config, train_gan

    if bool(args.out) == bool(args.resume):
        raise GanstyleError("give exactly one of --out NEW_RUN_DIR or --resume RUN_DIR")
    base = None
    if args.resume:
        if not Path(args.resume).is_dir():
            raise GanstyleError(f"--resume {args.resume}: no such run directory")
        base = {k: v for k, v in vars(load_run_config(args.resume)).items() if v is not None}
    cfg = resolve_config(TrainConfig, args, config_path=args.config, base=base)
    if args.resume:
        from ganstyle.io.checkpoints import list_checkpoints

        done = max((step for step, _ in list_checkpoints(Path(args.resume) / "checkpoints")), default=0)
        if done >= cfg.steps:
            print(f"{args.resume} is already at step {done} (--steps {cfg.steps}); give a larger --steps to train on")
    run = train_gan(cfg, out=args.out, resume=args.resume, progress=not args.no_progress)
    if is_main_process():  # one line per job, not one per torchrun process
        print(f"run: {run}  (samples: {run / 'samples'}, losses: {run / 'losses.png'})")
    return 0


def _sample(args) -> int:
    from ganstyle.config import resolve_config
    from ganstyle.gan.sampling import SampleConfig, sample

    print(f"wrote {sample(args.source, resolve_config(SampleConfig, args))}")
    return 0
