"""Evaluate generators and runs; FID between two image sets.

- :func:`compute_metrics`: the core — generated samples vs a :class:`~ganstyle.data.Dataset`,
  returning full records (value, spread, counts, extractor and checksum, seed).
- :func:`evaluate_generator`: the same as a flat ``{name: float}`` dict (the trainer's
  ``--eval-every`` hook and CSV logging).
- :func:`evaluate_run` (``ganstyle.evaluate``): sample a run's EMA generator and measure it
  against the run's training data; writes JSON and appends to the run's history.
- :func:`fid_between` (``ganstyle.fid``): FID between two folders / ``.npz`` files.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from ganstyle.errors import GanstyleError

METRIC_NAMES = ("fid", "kid", "is", "pr", "prdc", "modes")
DEFAULT_IMAGE_METRICS = ("fid", "kid", "is", "pr")
DEFAULT_POINT_METRICS = ("modes",)


def parse_metrics(metrics: str | Iterable[str] | None, kind: str, flag: str = "--metrics") -> list[str]:
    if isinstance(metrics, str):
        metrics = [m for m in metrics.split(",") if m.strip()]
    if not metrics or list(metrics) == ["auto"]:
        return list(DEFAULT_IMAGE_METRICS if kind == "images" else DEFAULT_POINT_METRICS)
    names = [m.strip().lower() for m in metrics if m.strip()]
    bad = [m for m in names if m not in METRIC_NAMES]
    if bad:
        raise GanstyleError(f"{flag}: unknown metric(s) {', '.join(bad)}; choose from {', '.join(METRIC_NAMES)}")
    return list(dict.fromkeys(names))


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


def _record(metric: str, value: float, std: float | None = None, **extra) -> dict:
    return {"metric": metric, "value": float(value), "std": None if std is None else float(std), **extra}


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
    """Measure ``generate`` against ``dataset``; returns ``{"records": [...], "skipped": {...}, ...}``."""
    from ganstyle.metrics.features import FeatureSet, quantize, reference_features, tensor_fingerprint
    from ganstyle.metrics.frechet import frechet_distance
    from ganstyle.metrics.kid import kernel_inception_distance

    kind = dataset.kind
    names = parse_metrics(metrics, kind)
    records, skipped = [], {}
    t0 = time.perf_counter()
    with torch.no_grad():
        fake = generate(n)
    fake = torch.as_tensor(fake).detach().float().cpu()
    if fake.shape[1:] != dataset.x.shape[1:]:
        raise GanstyleError(f"generated samples have shape {tuple(fake.shape[1:])} but the data has "
                            f"{tuple(dataset.x.shape[1:])}; was the generator trained on this dataset?")
    n_fake = len(fake)
    base = {"seed": seed, "n_fake": n_fake}

    if kind == "points":
        ext_info = {"extractor": "identity", "extractor_sha256": "none"}
        if "modes" in names:
            from ganstyle.metrics.modes import PROTOCOL_SAMPLES, mode_coverage

            centers, std = dataset.meta.get("centers"), dataset.meta.get("std")
            if centers is None or std is None:
                skipped["modes"] = f"dataset {dataset.name} has no mode centres"
            else:
                mc = mode_coverage(fake[:PROTOCOL_SAMPLES], centers, std)
                common = {**base, "n_fake": mc["n"], "num_modes": mc["num_modes"], "extractor": "none"}
                records += [_record("modes", mc["modes"], **common), _record("hq", mc["hq"], **common),
                            _record("rkl", mc["rkl"], **common)]
        feats_fake, logits_fake = fake.double().numpy(), None
        real = _real_subset(dataset, n, seed + 1)
        ref = FeatureSet.from_features(real.double().numpy())
        if "is" in names:
            skipped["is"] = "Inception Score needs class probabilities; 2-D points have none"
    else:
        ext = get_extractor_for(dataset, extractor, weights=weights, device=device, precision=precision,
                                cache_dir=cache_dir, download=download)
        ext_info = ext.record()
        real = _real_subset(dataset, n, seed + 1)
        key = f"{dataset.name}|{tensor_fingerprint(real)}"
        ref = reference_features(real, ext, key=key, cache_dir=cache_dir)
        feats_fake, logits_fake = ext.run(quantize(fake))
    n_real = ref.n
    base = {**base, "n_real": n_real, **ext_info}

    if "fid" in names:
        fs = FeatureSet.from_features(feats_fake, keep=False)
        records.append(_record("fid", frechet_distance(fs.mu, fs.sigma, ref.mu, ref.sigma), **base))
    if "kid" in names:
        size = min(kid_subset_size, n_fake, n_real)
        if size == min(n_fake, n_real) and size >= 4:
            # subsets spanning a whole set would all be equal and the spread would read 0
            size //= 2
        mean, std = kernel_inception_distance(feats_fake, ref.features, subsets=kid_subsets, subset_size=size, seed=seed)
        records.append(_record("kid", mean, std, subsets=kid_subsets, subset_size=size, **base))
    if "is" in names and "is" not in skipped:
        if logits_fake is None:
            skipped["is"] = f"extractor {ext_info['extractor']} gives no logits"
        else:
            from ganstyle.metrics.inception_score import inception_score

            mean, std = inception_score(logits_fake, splits=is_splits)
            records.append(_record("is", mean, std, splits=is_splits, **base))
    if "pr" in names or "prdc" in names:
        from ganstyle.metrics.prdc import precision_recall

        m = min(n_fake, n_real, 10_000)  # equal set sizes, as in the paper; k-NN cost is O(m²)
        g = np.random.default_rng(seed)
        rf = ref.features[np.sort(g.choice(n_real, m, replace=False))]
        ff = feats_fake[np.sort(g.choice(n_fake, m, replace=False))]
        pr = precision_recall(rf, ff, k=pr_k, density_coverage="prdc" in names)
        for name, value in pr.items():
            records.append(_record(name, value, **{**base, "n_fake": m, "n_real": m, "k": pr_k}))
    if "modes" in names and kind == "images":
        if logits_fake is not None and dataset.num_classes and ext_info["extractor"].startswith("classifier"):
            records += _class_coverage(logits_fake, dataset.num_classes, base)
        else:
            skipped["modes"] = "mode coverage on images needs the domain classifier (--extractor classifier)"
    for name, why in skipped.items():
        warnings.warn(f"{name} skipped: {why}", stacklevel=2)
    return {"records": records, "skipped": skipped, "seconds": time.perf_counter() - t0, "dataset": dataset.name,
            **ext_info, "seed": seed}


def _class_coverage(logits: np.ndarray, num_classes: int, base: dict, confidence: float = 0.9) -> list[dict]:
    """Classes covered by confidently classified samples; reverse KL of the predicted-class histogram."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    pred, conf = p.argmax(axis=1), p.max(axis=1)
    confident = conf >= confidence
    covered = len(np.unique(pred[confident]))
    hist = np.bincount(pred, minlength=num_classes) / len(pred)
    nz = hist > 0
    rkl = float((hist[nz] * np.log(hist[nz] * num_classes)).sum())
    common = {**base, "num_modes": num_classes, "confidence": confidence}
    return [_record("modes", covered, **common), _record("hq", 100.0 * confident.mean(), **common),
            _record("rkl", rkl, **common)]


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


# ------------------------------------------------------------------ runs


def _load_generator(run_dir, device):
    try:
        from ganstyle.gan.sampling import load_generator
    except ImportError as exc:
        raise GanstyleError(f"evaluating a run needs ganstyle.gan.sampling ({exc})") from None
    return load_generator(run_dir, device=device)


def _run_dataset(loaded):
    from ganstyle.data import load_dataset

    cfg = loaded.config
    spec = getattr(cfg, "data", None)
    if not spec:
        raise GanstyleError("the run's config names no dataset ('data'); cannot rebuild its training data")
    shape = tuple(loaded.data_shape)
    images = len(shape) == 3
    # the same call the trainer made, so the real side is exactly the training data
    return load_dataset(spec, image_size=shape[-1] if images else None, channels=shape[0] if images else None,
                        cache_dir=getattr(cfg, "cache_dir", None), n=getattr(cfg, "data_n", None),
                        seed=getattr(cfg, "seed", 0))


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


def evaluate_run(run_dir, metrics=None, n: int = 10_000, json_path=None, *, seed: int = 0, device="cpu",
                 extractor="auto", weights=None, precision: str = "fp32", batch_size: int = 256, cache_dir=None,
                 log: bool = True, download: bool = True) -> dict:
    """Sample the run's EMA generator, measure it against the run's data, record the result."""
    from ganstyle.io.runlog import append_csv, append_jsonl

    run_dir = Path(run_dir)
    loaded = _load_generator(run_dir, device)
    dataset = _run_dataset(loaded)

    def generate(k: int) -> torch.Tensor:
        return loaded.generate(k, seed=seed, batch_size=batch_size)

    result = compute_metrics(generate, dataset, metrics, n, seed, device, extractor=extractor, weights=weights,
                             precision=precision, cache_dir=cache_dir, download=download)
    result = {"run": str(run_dir), "step": int(loaded.step), **result}
    if json_path:
        from ganstyle.io.images import atomic_write_text

        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json_path, json.dumps(result, indent=2, default=float) + "\n")
    if log and run_dir.is_dir():
        append_jsonl(run_dir / "metrics.jsonl", {"event": "eval", **result})
        append_csv(run_dir / "metrics.csv", [{"step": int(loaded.step), **flatten(result)}])
    return result


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


def fid_between(path_a, path_b, *, extractor: str = "inception", weights=None, device="cpu", precision="fp32",
                batch_size: int = 50, n: int | None = None, save_stats=None, download: bool = True,
                cache_dir=None, channels: int = 3) -> dict:
    """FID between two sets; each a folder of images, an image array file, or a statistics ``.npz``."""
    from ganstyle.metrics.extractors import get_extractor
    from ganstyle.metrics.frechet import frechet_distance

    ext = None

    def extractor_once():
        nonlocal ext
        if ext is None:
            ext = get_extractor(extractor, dataset_name="", channels=channels, weights=weights, device=device,
                                precision=precision, download=download, cache_dir=cache_dir)
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
        sets.append(features_of_path(p, extractor_once(), batch_size=batch_size, channels=channels, n=n))
    a, b = sets
    value = frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
    info = ext.record() if ext else {"extractor": "from statistics files", "extractor_sha256": None}
    if save_stats and ext is not None:
        a.save(save_stats, meta={"source": str(path_a), **ext.record()})
    return {"metric": "fid", "value": value, "std": None, "n_a": a.n, "n_b": b.n, **info,
            "path_a": str(path_a), "path_b": str(path_b)}
