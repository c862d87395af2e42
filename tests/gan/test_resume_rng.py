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


def test_train_style_resume_records_the_same_rng_states(tmp_path):
    from ganstyle.io.images import save_image
    from ganstyle.style.train import StyleTrainConfig, train_style

    gen = torch.Generator().manual_seed(0)
    (tmp_path / "content").mkdir()
    for i in range(3):
        save_image(torch.rand(3, 40, 40, generator=gen), tmp_path / "content" / f"{i}.png")
    save_image(torch.rand(3, 48, 48, generator=gen), tmp_path / "style.png")

    def run(name, steps, resume=False):
        cfg = StyleTrainConfig(method="fast", out=str(tmp_path / name), style=str(tmp_path / "style.png"),
                               content_dir=str(tmp_path / "content"), backbone="random", steps=steps, batch_size=2,
                               image_size=32, style_size=48, width=4, res_blocks=1, log_every=1, sample_every=0,
                               ckpt_every=3, device="cpu", precision="fp32")
        if resume:
            return train_style(resume=tmp_path / name, steps=steps, progress=False)
        return train_style(cfg, progress=False)

    _fresh_process_globals(101)
    straight = run("straight", 6)
    _fresh_process_globals(202)
    run("resumed", 3)
    _fresh_process_globals(303)
    resumed = run("resumed", 6, resume=True)
    a, b = _recorded_rng(straight), _recorded_rng(resumed)
    assert set(a) == set(b) >= {"python", "numpy", "torch"}
    assert a["python"] == b["python"] and torch.equal(a["numpy"][1], b["numpy"][1])
    for key in set(a) - {"python", "numpy"}:
        assert torch.equal(a[key], b[key]), key
