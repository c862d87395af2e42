"""Measure a trained run: sample its averaged generator and compare with its own training data.

This is where the GAN side calls the metrics (``ganstyle eval``, ``ganstyle.evaluate``);
:mod:`ganstyle.metrics` knows nothing of runs or generators.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from ganstyle.config import field, validate
from ganstyle.errors import GanstyleError
from ganstyle.gan.sampling import load_generator
from ganstyle.io.images import atomic_write_text
from ganstyle.io.runlog import append_csv, append_jsonl
from ganstyle.metrics.evaluate import compute_metrics, flatten
from ganstyle.metrics.extractors import EXTRACTOR_NAMES
from ganstyle.torch_utils import PRECISIONS, resolve_device, resolve_precision


@dataclass
class EvalConfig:
    """Settings of :func:`evaluate_run` and ``ganstyle eval`` (one flag per field)."""

    metrics: str = field("auto", help="comma-separated names from the metric registry (see below); "
                                      "auto = fid,kid,is,pr for images, modes for 2-D data")
    n: int = field(10_000, ge=2, help="generated samples (mode coverage uses the first 2500)")
    json_path: str | None = field(None, flag="json", help="write the full result to this JSON file")
    extractor: str = field("auto", choices=EXTRACTOR_NAMES,
                           help="feature extractor; auto = domain classifier for 1-channel digit data, Inception otherwise")
    weights: str | None = field(None, help="Inception weights file (pt_inception-2015-12-05-6726825d.pth)")
    seed: int = field(0, help="seed for sampling and metric subsets")
    device: str = field("auto", help="auto, cpu, cuda or cuda:N")
    precision: str = field("fp32", choices=PRECISIONS,
                           help="extractor precision; bf16 is faster on CPUs with AMX but shifts FID slightly")
    batch_size: int = field(256, ge=1, help="samples per generator forward pass")
    cache_dir: str | None = field(None, help="folder for reference statistics and classifier weights")
    log: bool = field(True, help="append the result to the run's metrics.jsonl and metrics.csv")
    download: bool = field(True, help="download missing Inception weights")
    overwrite: bool = field(False, help="replace an existing --json file")


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


def evaluate_run(run_dir, config: EvalConfig | None = None, **overrides) -> dict:
    """Sample the run's EMA generator, measure it against the run's data, record the result.

    ``config`` (default :class:`EvalConfig`) with any of its fields as keywords on top,
    e.g. ``evaluate_run("runs/digits", metrics="fid,kid", n=5000)``.
    """
    from ganstyle.io.outputs import check_output

    cfg = validate(dataclasses.replace(config or EvalConfig(), **overrides))
    run_dir = Path(run_dir)
    device = resolve_device(cfg.device)
    loaded = load_generator(run_dir, device=device)
    stem = getattr(loaded, "checkpoint", None)
    if cfg.json_path:
        inputs = [stem.with_suffix(".json"), stem.with_suffix(".safetensors")] if stem is not None else []
        check_output(cfg.json_path, flag="--json", overwrite=cfg.overwrite, inputs=inputs)
    dataset = _run_dataset(loaded)

    def generate(k: int) -> torch.Tensor:
        return loaded.generate(k, seed=cfg.seed, batch_size=cfg.batch_size)

    result = compute_metrics(generate, dataset, cfg.metrics, cfg.n, cfg.seed, device, extractor=cfg.extractor,
                             weights=cfg.weights, precision=resolve_precision(cfg.precision, device),
                             cache_dir=cfg.cache_dir, download=cfg.download)
    result = {"run": str(run_dir), "step": int(loaded.step), **result}
    if cfg.json_path:
        Path(cfg.json_path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cfg.json_path, json.dumps(result, indent=2, default=float) + "\n")
    if cfg.log and run_dir.is_dir():
        append_jsonl(run_dir / "metrics.jsonl", {"event": "eval", **result})
        append_csv(run_dir / "metrics.csv", [{"step": int(loaded.step), **flatten(result)}])
    return result
