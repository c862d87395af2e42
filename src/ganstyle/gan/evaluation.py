"""Measure a trained run: sample its averaged generator and compare with its own training data.

This is where the GAN side calls the metrics (``ganstyle eval``, ``ganstyle.evaluate``);
:mod:`ganstyle.metrics` knows nothing of runs or generators.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ganstyle.errors import GanstyleError
from ganstyle.gan.sampling import load_generator
from ganstyle.io.images import atomic_write_text
from ganstyle.io.runlog import append_csv, append_jsonl
from ganstyle.metrics.evaluate import compute_metrics, flatten


def _load_generator(run_dir, device):
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


def evaluate_run(run_dir, metrics=None, n: int = 10_000, json_path=None, *, seed: int = 0, device="cpu",
                 extractor="auto", weights=None, precision: str = "fp32", batch_size: int = 256, cache_dir=None,
                 log: bool = True, download: bool = True) -> dict:
    """Sample the run's EMA generator, measure it against the run's data, record the result."""
    run_dir = Path(run_dir)
    loaded = _load_generator(run_dir, device)
    dataset = _run_dataset(loaded)

    def generate(k: int) -> torch.Tensor:
        return loaded.generate(k, seed=seed, batch_size=batch_size)

    result = compute_metrics(generate, dataset, metrics, n, seed, device, extractor=extractor, weights=weights,
                             precision=precision, cache_dir=cache_dir, download=download)
    result = {"run": str(run_dir), "step": int(loaded.step), **result}
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json_path, json.dumps(result, indent=2, default=float) + "\n")
    if log and run_dir.is_dir():
        append_jsonl(run_dir / "metrics.jsonl", {"event": "eval", **result})
        append_csv(run_dir / "metrics.csv", [{"step": int(loaded.step), **flatten(result)}])
    return result
