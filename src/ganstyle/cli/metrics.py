"""``ganstyle eval`` and ``ganstyle fid``: measure a trained run, or two sets of images."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    from ganstyle.metrics.registry import metric_help

    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = sub.add_parser("eval", formatter_class=fmt, help="measure a trained GAN run (FID, KID, IS, precision/recall, modes)",
                       description="Sample the run's EMA generator and measure it against the run's training data. "
                                   "Prints a table, writes --json, and appends the result to the run's "
                                   "metrics.jsonl and metrics.csv.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (newest checkpoint) or a checkpoint stem")
    p.add_argument("--metrics", default="auto",
                   help="comma-separated names from the metric registry: " + metric_help().replace("%", "%%")
                        + ". auto = fid,kid,is,pr for images, modes for 2-D data")
    p.add_argument("--n", type=int, default=10_000, help="generated samples (mode coverage uses the first 2500)")
    p.add_argument("--json", dest="json_path", default=None, help="write the full result here")
    p.add_argument("--extractor", default="auto", choices=("auto", "inception", "classifier"),
                   help="feature extractor; auto = domain classifier for 1-channel digit data, Inception otherwise")
    p.add_argument("--weights", default=None, help="Inception weights file (pt_inception-2015-12-05-6726825d.pth)")
    p.add_argument("--seed", type=int, default=0, help="seed for sampling and metric subsets")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"),
                   help="extractor precision; bf16 is faster on CPUs with AMX but shifts FID slightly")
    p.add_argument("--no-log", action="store_true", help="do not append to the run's metrics history")
    p.set_defaults(func=_eval)

    p = sub.add_parser("fid", formatter_class=fmt, help="FID between two image folders / .npz files",
                       description="FID between two sets, each a folder of images, an .npz/.npy of images, or an "
                                   ".npz of statistics (mu, sigma — ours or pytorch-fid's).")
    p.add_argument("path_a", metavar="PATH_A")
    p.add_argument("path_b", metavar="PATH_B")
    p.add_argument("--extractor", default="inception", choices=("inception", "classifier"), help="feature extractor")
    p.add_argument("--weights", default=None, help="Inception weights file (pt_inception-2015-12-05-6726825d.pth)")
    p.add_argument("--batch-size", type=int, default=50, help="images per forward pass")
    p.add_argument("--n", type=int, default=None, help="use at most this many images per folder")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help="extractor precision")
    p.add_argument("--save-stats", default=None, metavar="NPZ", help="also save PATH_A's statistics here")
    p.add_argument("--json", dest="json_path", default=None, help="write the result here")
    p.set_defaults(func=_fid)


def _device(name: str):
    from ganstyle.torch_utils import resolve_device

    return resolve_device(name)


def _eval(args) -> int:
    from ganstyle.errors import GanstyleError
    from ganstyle.gan.evaluation import evaluate_run
    from ganstyle.metrics.evaluate import format_table

    if args.n < 2:
        raise GanstyleError(f"--n: need at least 2 samples, got {args.n}")
    result = evaluate_run(args.run_dir, args.metrics, args.n, args.json_path, seed=args.seed,
                          device=_device(args.device), extractor=args.extractor, weights=args.weights,
                          precision=args.precision, log=not args.no_log)
    print(f"{result['run']} (step {result['step']}, {result['dataset']})")
    print(format_table(result))
    if args.json_path:
        print(f"wrote {args.json_path}")
    return 0


def _fid(args) -> int:
    from ganstyle.metrics.evaluate import fid_between

    result = fid_between(args.path_a, args.path_b, extractor=args.extractor, weights=args.weights,
                         device=_device(args.device), precision=args.precision, batch_size=args.batch_size,
                         n=args.n, save_stats=args.save_stats)
    print(f"FID: {result['value']:.6g}  (n {result['n_a']} vs {result['n_b']}, {result['extractor']})")
    if args.json_path:
        from ganstyle.io.images import atomic_write_text

        atomic_write_text(args.json_path, json.dumps(result, indent=2, default=float) + "\n")
    return 0
