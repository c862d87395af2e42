"""``ganstyle eval`` and ``ganstyle fid``: measure a trained run, or two sets of images.

Flags are generated from :class:`~ganstyle.gan.evaluation.EvalConfig` and
:class:`~ganstyle.metrics.evaluate.FIDConfig`; each handler makes one API call.
"""

from __future__ import annotations


def register(sub) -> None:
    from ganstyle.config import add_dataclass_args
    from ganstyle.gan.evaluation import EvalConfig
    from ganstyle.metrics.evaluate import FIDConfig
    from ganstyle.metrics.registry import metric_help

    p = sub.add_parser("eval", help="measure a trained GAN run (FID, KID, IS, precision/recall, modes)",
                       description="Sample the run's EMA generator and measure it against the run's training data. "
                                   "Prints a table, writes --json, and appends the result to the run's "
                                   "metrics.jsonl and metrics.csv. Metrics: " + metric_help() + ".")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (newest checkpoint) or a checkpoint stem")
    add_dataclass_args(p, EvalConfig)
    p.set_defaults(func=_eval)

    p = sub.add_parser("fid", help="FID between two image folders / .npz files",
                       description="FID between two sets, each a folder of images, an .npz/.npy of images, or an "
                                   ".npz of statistics (mu, sigma — ours or pytorch-fid's).")
    p.add_argument("path_a", metavar="PATH_A")
    p.add_argument("path_b", metavar="PATH_B")
    add_dataclass_args(p, FIDConfig)
    p.set_defaults(func=_fid)


def _eval(args) -> int:
    from ganstyle.config import resolve_config
    from ganstyle.gan.evaluation import EvalConfig, evaluate_run
    from ganstyle.metrics.evaluate import format_table

    cfg = resolve_config(EvalConfig, args)
    result = evaluate_run(args.run_dir, cfg)
    print(f"{result['run']} (step {result['step']}, {result['dataset']})")
    print(format_table(result))
    if cfg.json_path:
        print(f"wrote {cfg.json_path}")
    return 0


def _fid(args) -> int:
    from ganstyle.config import resolve_config
    from ganstyle.metrics.evaluate import FIDConfig, fid_between

    result = fid_between(args.path_a, args.path_b, resolve_config(FIDConfig, args))
    print(f"FID: {result['value']:.6g}  (n {result['n_a']} vs {result['n_b']}, {result['extractor']})")
    return 0
