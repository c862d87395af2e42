"""``ganstyle project``: a thin layer over :func:`ganstyle.gan.project.project` (GAN inversion)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser(
        "project", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="find the latent of an image under a trained generator (GAN inversion)",
        description="Optimise a latent (W for stylegan-lite, z otherwise) so that the run's averaged generator "
                    "reproduces IMAGE: pixel MSE plus a feature loss under the run's extractor. Writes "
                    "reconstruction.png, latent.npz and progress.png into --out; two latents make a path with "
                    "'ganstyle sample RUN --interpolate-from A.npz --to B.npz'.")
    p.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="run directory or checkpoint")
    p.add_argument("image", metavar="IMAGE", help="target image (resized and centre-cropped to the run's size)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the results")
    p.add_argument("--steps", type=int, default=200, help="optimisation steps")
    p.add_argument("--lr", type=float, default=0.05, help="Adam step size for the latent (cosine-decayed)")
    p.add_argument("--feature-weight", type=float, default=1.0, help="weight of the feature loss (0 = pixels only)")
    p.add_argument("--extractor", default="auto", choices=("auto", "classifier", "inception"),
                   help="feature extractor; auto = domain classifier for 1-channel digit data, Inception otherwise")
    p.add_argument("--seed", type=int, default=0, help="seed for the starting latents")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    p.set_defaults(func=_project)


def _project(args) -> int:
    from pathlib import Path

    from ganstyle.errors import GanstyleError
    from ganstyle.gan.project import project, write_projection

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise GanstyleError(f"--out {out}: is a file; give a folder for the projection")
    if out.resolve() == Path(args.image).resolve():
        raise GanstyleError(f"--out {out}: is the input image")
    if (out / "latent.npz").exists() and not args.overwrite:
        raise GanstyleError(f"--out {out}: already holds latent.npz; give --overwrite to replace it")
    result = project(args.run, args.image, steps=args.steps, lr=args.lr, feature_weight=args.feature_weight,
                     extractor=args.extractor if args.feature_weight else None, seed=args.seed, device=args.device)
    write_projection(result, out, overwrite=args.overwrite)
    print(f"wrote {out} (latent in {result.space}, pixel MSE {result.mse:.4f})")
    return 0
