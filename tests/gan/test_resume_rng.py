"""Exact resume covers every RNG a checkpoint records, not only the ones training consumes."""

from __future__ import annotations

import random

import numpy as np
import torch

from ganstyle.gan.trainer import TrainConfig, train_gan
from ganstyle.io.checkpoints import latest_checkpoint, load_checkpoint


def _recorded_rng(run):
    return load_checkpoint(latest_checkpoint(run / "checkpoints"))[1]["rng"]


def _fresh_process_globals(seed: int) -> None:
    """A new process starts python's and numpy's global generators from OS entropy."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def test_n_plus_resume_plus_n_records_the_same_rng_states_as_2n(tiny_mlp_cfg, tmp_path):
    cfg = TrainConfig(**{**vars(tiny_mlp_cfg), "precision": "fp32"})
    n = cfg.steps
    _fresh_process_globals(101)
    straight = train_gan(TrainConfig(**{**vars(cfg), "steps": 2 * n}), out=tmp_path / "straight", progress=False)
    _fresh_process_globals(202)
    half = train_gan(cfg, out=tmp_path / "half", progress=False)
    _fresh_process_globals(303)
    resumed = train_gan(resume=half, steps=2 * n, progress=False)
    a, b = _recorded_rng(straight), _recorded_rng(resumed)
    assert set(a) == set(b) >= {"python", "numpy", "torch", "gen:noise"}
    assert a["python"] == b["python"]
    assert a["numpy"][0] == b["numpy"][0] and a["numpy"][2:] == b["numpy"][2:]
    assert torch.equal(a["numpy"][1], b["numpy"][1])
    for key in ("torch", "gen:noise"):
        assert torch.equal(a[key], b[key]), key
