"""Evaluate generators and runs; FID between two image sets.

- :func:`compute_metrics`: the core — generated samples vs a :class:`~ganstyle.data.Dataset`,
  returning full records (value, spread, counts, extractor and checksum, seed).
- :func:`evaluate_generator`: the same as a flat ``{name: float}`` dict (the trainer's
  ``--eval-every`` hook and CSV logging).
- metrics are looked up in :mod:`ganstyle.metrics.registry` (one function per metric);
  measuring a whole run lives on the GAN side, in :mod:`ganstyle.gan.evaluation`.
- :func:`fid_between` (``ganstyle.fid``): FID between two folders / ``.npz`` files.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from ganstyle.config import field, validate
from ganstyle.errors import GanstyleError
from ganstyle.metrics.extractors import EXTRACTOR_NAMES
from ganstyle.torch_utils import PRECISIONS, resolve_device, resolve_precision

DEFAULT_IMAGE_METRICS = ("fid", "kid", "is", "pr")
DEFAULT_POINT_METRICS = ("modes",)


def parse_metrics(metrics: str | Iterable[str] | None, kind: str, flag: str = "--metrics") -> list[str]:
    """Names from a comma-separated string or list, checked against the registry and the data kind."""
    from ganstyle.metrics.registry import metrics as registered

    if isinstance(metrics, str):
        metrics = [m for m in metrics.split(",") if m.strip()]
    if not metrics or list(metrics) == ["auto"]:
        return list(DEFAULT_IMAGE_METRICS if kind == "images" else DEFAULT_POINT_METRICS)
    names = list(dict.fromkeys(m.strip().lower() for m in metrics if m.strip()))
    known = registered()
    bad = [m for m in names if m not in known]
    if bad:
        raise GanstyleError(f"{flag}: unknown metric(s) {', '.join(bad)}; choose from {', '.join(known)}")
    wrong_kind = [m for m in names if kind not in known[m].kinds]
    if wrong_kind:
        fits = [m for m, spec in known.items() if kind in spec.kinds]
        what = "2-D points" if kind == "points" else kind
        raise GanstyleError(f"{flag}: {', '.join(wrong_kind)} cannot measure {what}; for this data use "
                            f"{', '.join(fits)}")
    covered = {c for m in names for c in known[m].supersedes}
    return [m for m in names if m not in covered]


def check_metrics(metrics: str | Iterable[str], dataset, *, flag: str = "--metrics", extractor="auto", weights=None,
                  download: bool = True) -> list[str]:
    """Validate metric names for ``dataset`` and find the weights they need, before any work is done."""
    names = parse_metrics(metrics, dataset.kind, flag)
    if dataset.kind == "images" and extractor in ("auto", "inception"):
        from ganstyle.metrics.extractors import auto_extractor_name

        if extractor == "inception" or auto_extractor_name(dataset.name, dataset.x.shape[1]) == "inception":
            from ganstyle.metrics.extractors.inception import resolve_inception_weights

            try:
                resolve_inception_weights(weights, download=download)
            except GanstyleError as exc:
                raise GanstyleError(f"{flag} {','.join(names)}: {exc}") from None
    return names


def _real_subset(dataset, n: int, seed: int) -> torch.Tensor:
    x = dataset.x
    if len(x) <= n:
        return x
    g = torch.Generator().manual_seed(seed)
    return x[torch.randperm(len(x), generator=g)[:n].sort().values]


def compute_metrics(generate: Callable[[int], torch.Tensor], dataset, metrics=None, n: int = 10_000, seed: int = 0,
                    device="cpu", *, extractor="auto", weights=None, precision: str = "fp32", cache_dir=None,
                    kid_subsets: int = 100, kid_subset_size: int = 1000, pr_k: int = 3, is_splits: int = 10,
                    download: bool = True) -> dict:
    """Measure ``generate`` against ``dataset``; returns ``{"records": [...], "skipped": {...}, ...}``.

    Each name is looked up in :mod:`ganstyle.metrics.registry`; a metric that does not apply
    to these inputs is reported under ``skipped`` (and warned about), not raised.
    """
    from ganstyle.metrics.features import FeatureSet, quantize, reference_features, tensor_fingerprint
    from ganstyle.metrics.registry import MetricInputs, MetricSkipped
    from ganstyle.metrics.registry import metrics as registered

    names = parse_metrics(metrics, dataset.kind)
    t0 = time.perf_counter()
    with torch.no_grad():
        fake = generate(n)
    fake = torch.as_tensor(fake).detach().float().cpu()
    if fake.shape[1:] != dataset.x.shape[1:]:
        raise GanstyleError(f"generated samples have shape {tuple(fake.shape[1:])} but the data has "
                            f"{tuple(dataset.x.shape[1:])}; was the generator trained on this dataset?")
    real = _real_subset(dataset, n, seed + 1)
    if dataset.kind == "points":
        ext_info = {"extractor": "identity", "extractor_sha256": "none"}
        feats_fake, logits_fake = fake.double().numpy(), None
        ref = FeatureSet.from_features(real.double().numpy())
    else:
        ext = get_extractor_for(dataset, extractor, weights=weights, device=device, precision=precision,
                                cache_dir=cache_dir, download=download)
        ext_info = ext.record()
        ref = reference_features(real, ext, key=f"{dataset.name}|{tensor_fingerprint(real)}", cache_dir=cache_dir)
        feats_fake, logits_fake = ext.run(quantize(fake))
    inputs = MetricInputs(fake=fake, features=feats_fake, logits=logits_fake, reference=ref, dataset=dataset,
                          extractor=ext_info["extractor"], seed=seed,
                          base={"seed": seed, "n_fake": len(fake), "n_real": ref.n, **ext_info},
                          options={"kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size, "pr_k": pr_k,
                                   "is_splits": is_splits})
    records, skipped = [], {}
    known = registered()
    for name in names:
        try:
            records += known[name].compute(inputs)
        except MetricSkipped as why:
            skipped[name] = str(why)
    for name, why in skipped.items():
        warnings.warn(f"{name} skipped: {why}", stacklevel=2)
    return {"records": records, "skipped": skipped, "seconds": time.perf_counter() - t0, "dataset": dataset.name,
            **ext_info, "seed": seed}


def get_extractor_for(dataset, extractor="auto", **kw):
    from ganstyle.metrics.extractors import get_extractor

    channels = dataset.x.shape[1] if dataset.kind == "images" else 0
    return get_extractor(extractor, dataset_name=dataset.name, channels=channels, **kw)


def flatten(result: dict) -> dict[str, float]:
    out = {}
    for r in result["records"]:
        out[r["metric"]] = r["value"]
        if r.get("std") is not None:
            out[f"{r['metric']}_std"] = r["std"]
    return out


def evaluate_generator(generate: Callable[[int], torch.Tensor], dataset, metrics=None, n: int = 10_000, seed: int = 0,
                       device="cpu", **kw) -> dict[str, float]:
    """Flat ``{"fid": .., "kid": .., "kid_std": .., "is": .., "precision": .., "modes": ..}`` for logging."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flatten(compute_metrics(generate, dataset, metrics, n, seed, device, **kw))


def format_table(result: dict) -> str:
    lines = [f"{'metric':<10} {'value':>12} {'± std':>10} {'n_fake':>7} {'n_real':>7}"]
    for r in result["records"]:
        std = "" if r.get("std") is None else f"{r['std']:.4g}"
        lines.append(f"{r['metric']:<10} {r['value']:>12.5g} {std:>10} {r.get('n_fake', ''):>7} {r.get('n_real', ''):>7}")
    lines.append(f"extractor: {result.get('extractor')} (sha256 {str(result.get('extractor_sha256'))[:12]}), "
                 f"seed {result.get('seed')}, {result.get('seconds', 0):.1f} s")
    for name, why in result.get("skipped", {}).items():
        lines.append(f"skipped {name}: {why}")
    return "\n".join(lines)


# ------------------------------------------------------------------ FID between two sets


def _image_batches(files: list[Path], batch_size: int, channels: int, size: int | None):
    from ganstyle.io.images import load_image

    for lo in range(0, len(files), batch_size):
        imgs = [load_image(p, channels=channels) for p in files[lo:lo + batch_size]]
        if size is not None or len({tuple(i.shape) for i in imgs}) > 1:
            # mixed sizes cannot be stacked: resize each as the network would
            s = size or 299
            imgs = [torch.nn.functional.interpolate(torch.as_tensor(i)[None], size=(s, s), mode="bilinear",
                                                    align_corners=False)[0] for i in imgs]
        yield torch.stack([torch.as_tensor(i) for i in imgs]) * 2 - 1


def features_of_path(path, ext, *, batch_size: int = 50, channels: int = 3, n: int | None = None):
    """FeatureSet of a folder of images, a stats ``.npz``, or an ``.npz``/``.npy`` of images."""
    from ganstyle.io.images import list_images
    from ganstyle.metrics.features import FeatureSet, quantize

    p = Path(path).expanduser()
    if p.is_dir():
        files = list_images(p)
        if n:
            files = files[:n]
        if len(files) < 2:
            raise GanstyleError(f"{p}: need at least 2 images for FID, found {len(files)}")
        feats, logits = [], []
        for batch in _image_batches(files, batch_size, channels, None):
            f, lg = ext.run(quantize(batch), batch_size)
            feats.append(f)
            if lg is not None:
                logits.append(lg)
        return FeatureSet.from_features(np.concatenate(feats), np.concatenate(logits) if logits else None)
    if not p.is_file():
        raise GanstyleError(f"{p}: no such folder or file (give a folder of images or an .npz of statistics)")
    if p.suffix == ".npz":
        with np.load(p, allow_pickle=False) as z:
            image_key = next((k for k in ("images", "x", "arr_0") if k in z.files and z[k].ndim == 4), None)
            images = z[image_key] if image_key else None
        if images is None:
            return FeatureSet.load(p)
    elif p.suffix == ".npy":
        images = np.load(p, allow_pickle=False)
    else:
        raise GanstyleError(f"{p}: expected a folder of images, an .npz or an .npy file")
    return FeatureSet.from_features(*ext.run(quantize(_images_to_tensor(images, p)), batch_size))


def _images_to_tensor(a: np.ndarray, path) -> torch.Tensor:
    if a.ndim != 4:
        raise GanstyleError(f"{path}: image arrays must be 4-D (N, H, W, C) or (N, C, H, W), got {a.shape}")
    if a.shape[-1] in (1, 3) and a.shape[1] not in (1, 3):
        a = a.transpose(0, 3, 1, 2)
    t = torch.from_numpy(np.ascontiguousarray(a))
    if a.dtype == np.uint8:
        return t.float() / 127.5 - 1
    t = t.float()
    return t * 2 - 1 if t.min() >= 0 else t  # [0, 1] floats or already [-1, 1]


@dataclass
class FIDConfig:
    """Settings of :func:`fid_between` and ``ganstyle fid`` (one flag per field)."""

    extractor: str = field("inception", choices=EXTRACTOR_NAMES, help="feature extractor (auto = inception here)")
    weights: str | None = field(None, help="Inception weights file (pt_inception-2015-12-05-6726825d.pth)")
    batch_size: int = field(50, ge=1, help="images per forward pass")
    n: int | None = field(None, ge=2, help="use at most this many images per folder")
    channels: int = field(3, choices=(1, 3), help="load images with this many channels")
    device: str = field("auto", help="auto, cpu, cuda or cuda:N")
    precision: str = field("fp32", choices=PRECISIONS, help="extractor precision")
    save_stats: str | None = field(None, help="also save PATH_A's statistics to this .npz")
    json_path: str | None = field(None, flag="json", help="write the result to this JSON file")
    cache_dir: str | None = field(None, help="folder for classifier weights")
    download: bool = field(True, help="download missing Inception weights")
    overwrite: bool = field(False, help="replace existing --json / --save-stats files (never an input)")


def fid_between(path_a, path_b, config: FIDConfig | None = None, **overrides) -> dict:
    """FID between two sets; each a folder of images, an image array file, or a statistics ``.npz``.

    ``config`` (default :class:`FIDConfig`) with any of its fields as keywords on top.
    """
    from ganstyle.io.outputs import check_output
    from ganstyle.metrics.extractors import get_extractor
    from ganstyle.metrics.frechet import frechet_distance

    cfg = validate(dataclasses.replace(config or FIDConfig(), **overrides))
    for flag, target in (("--json", cfg.json_path), ("--save-stats", cfg.save_stats)):
        if target:
            check_output(target, flag=flag, overwrite=cfg.overwrite, inputs=(path_a, path_b))
    device = resolve_device(cfg.device)
    ext = None

    def extractor_once():
        nonlocal ext
        if ext is None:
            ext = get_extractor(cfg.extractor, dataset_name="", channels=cfg.channels, weights=cfg.weights,
                                device=device, precision=resolve_precision(cfg.precision, device),
                                download=cfg.download, cache_dir=cfg.cache_dir)
        return ext

    sets = []
    for p in (path_a, path_b):
        if str(p).endswith(".npz") and Path(p).is_file():
            with np.load(p, allow_pickle=False) as z:
                is_stats = "mu" in z.files or ("features" in z.files)
            if is_stats:
                from ganstyle.metrics.features import FeatureSet

                sets.append(FeatureSet.load(p))
                continue
        sets.append(features_of_path(p, extractor_once(), batch_size=cfg.batch_size, channels=cfg.channels, n=cfg.n))
    a, b = sets
    value = frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
    info = ext.record() if ext else {"extractor": "from statistics files", "extractor_sha256": None}
    if cfg.save_stats and ext is not None:
        a.save(cfg.save_stats, meta={"source": str(path_a), **ext.record()})
    result = {"metric": "fid", "value": value, "std": None, "n_a": a.n, "n_b": b.n, **info,
              "path_a": str(path_a), "path_b": str(path_b)}
    if cfg.json_path:
        from ganstyle.io.images import atomic_write_text

        Path(cfg.json_path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cfg.json_path, json.dumps(result, indent=2, default=float) + "\n")
    return result
