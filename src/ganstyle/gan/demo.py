"""GAN part of ``ganstyle demo``: DCGAN on the bundled digits, an MLP GAN on ring8.

Sized to take about 1.5 CPU-minutes: a 16-pixel DCGAN step costs ~40 ms on one core
(bf16), a 32-pixel one ~210 ms, so 16 pixels is what reaches recognisable digits in
the budget. The digits model is class-conditional (projection discriminator): in the
same 1500 steps an unconditional DCGAN gives about half recognisable digits, the
conditional one a clean grid with one class per column.
"""

from __future__ import annotations

import shutil
from pathlib import Path


from ganstyle.gan.trainer import TrainConfig, train_gan

DIGIT_STEPS, RING_STEPS = 1500, 2500
QUICK_STEPS = 10


def _fresh(run_dir: Path) -> Path:
    # Re-running the demo replaces its own earlier runs, never anything else.
    if (run_dir / "config.toml").exists():
        shutil.rmtree(run_dir)
    return run_dir


def run_gan_demo(out: str | Path, seed: int = 0, quick: bool = False) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    digit_steps, ring_steps = (QUICK_STEPS, QUICK_STEPS) if quick else (DIGIT_STEPS, RING_STEPS)

    digits_cfg = TrainConfig(data="digits", image_size=16, model="dcgan", conditional=True, steps=digit_steps,
                             batch_size=64, g_lr=2e-4, d_lr=2e-4, ema_decay=0.995, precision="auto",
                             device="auto", seed=seed, n_samples=100, log_every=min(50, digit_steps),
                             sample_every=0, ckpt_every=0, keep_checkpoints=1)
    digits_run = train_gan(digits_cfg, out=_fresh(out / "gan_digits"), progress=False)

    # a 2-D MLP is too small to gain from a GPU
    ring_cfg = TrainConfig(data="ring8", model="mlp", steps=ring_steps, device="cpu", seed=seed,
                           log_every=min(50, ring_steps), sample_every=0, ckpt_every=0, keep_checkpoints=1)
    ring_run = train_gan(ring_cfg, out=_fresh(out / "gan_ring8"), progress=False)

    def final_sample(run: Path) -> Path:
        return sorted((run / "samples").glob("step_*.png"))[-1]

    outputs = {
        "gan_digits_samples": final_sample(digits_run),
        "gan_digits_losses": digits_run / "losses.png",
        "gan_ring8_scatter": final_sample(ring_run),
        "gan_ring8_losses": ring_run / "losses.png",
    }
    return outputs
