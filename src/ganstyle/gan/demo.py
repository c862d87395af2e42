"""GAN part of ``ganstyle demo``: DCGAN on the bundled digits, an MLP GAN on ring8.

Sized for the whole demo to take about 3 minutes on 2 cores of any x86-64 CPU. Per step,
on one core (process CPU time): the 16-pixel conditional DCGAN costs ~40 ms in bf16 and
~60 ms in fp32 on an AVX-512 BF16 CPU, the ring8 MLP ~7.5 ms in fp32 (bf16 autocast makes
such a tiny network slower, so it stays fp32). ``--precision auto`` runs the DCGAN in fp32
on AVX2-only CPUs, where the step counts below still fit (a quiet 2-core AVX2 machine was
reported to take 167 s for the whole demo). 16 pixels is what reaches recognisable digits in this
budget. The digits model is class-conditional (projection discriminator): in the same
1500 steps an unconditional DCGAN gives about half recognisable digits, the conditional
one a clean grid with one class per column.

Each part announces itself and shows the trainer's progress bar, so a slow machine is
never silent for minutes.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ganstyle.gan.trainer import TrainConfig, train_gan

DIGIT_STEPS, RING_STEPS = 1500, 2500
QUICK_STEPS = 10


def _fresh(run_dir: Path) -> Path:
    # Re-running the demo replaces its own earlier runs, never anything else.
    if (run_dir / "config.toml").exists():
        shutil.rmtree(run_dir)
    return run_dir


def announce(line: str) -> None:
    """One line before each part of the demo (flushed: the part may run for a minute)."""
    print(line, flush=True)
    sys.stderr.flush()


def run_gan_demo(out: str | Path, seed: int = 0, quick: bool = False, progress: bool = True) -> dict[str, Path]:
    """Train the two demo GANs into ``out/gan_digits`` and ``out/gan_ring8``; return their pictures."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    digit_steps, ring_steps = (QUICK_STEPS, QUICK_STEPS) if quick else (DIGIT_STEPS, RING_STEPS)

    digits_cfg = TrainConfig(data="digits", image_size=16, model="dcgan", conditional=True, steps=digit_steps,
                             batch_size=64, g_lr=2e-4, d_lr=2e-4, ema_decay=0.995, precision="auto",
                             device="auto", seed=seed, n_samples=100, log_every=min(50, digit_steps),
                             sample_every=0, ckpt_every=0, keep_checkpoints=1)
    announce(f"demo: GAN 1/2, conditional DCGAN on 16-px digits, {digit_steps} steps")
    digits_run = train_gan(digits_cfg, out=_fresh(out / "gan_digits"), progress=progress)

    # a 2-D MLP is too small to gain from a GPU or from bf16
    ring_cfg = TrainConfig(data="ring8", model="mlp", steps=ring_steps, device="cpu", precision="fp32", seed=seed,
                           log_every=min(50, ring_steps), sample_every=0, ckpt_every=0, keep_checkpoints=1)
    announce(f"demo: GAN 2/2, MLP GAN on the 8-Gaussian ring, {ring_steps} steps")
    ring_run = train_gan(ring_cfg, out=_fresh(out / "gan_ring8"), progress=progress)

    def final_sample(run: Path) -> Path:
        return sorted((run / "samples").glob("step_*.png"))[-1]

    outputs = {
        "gan_digits_samples": final_sample(digits_run),
        "gan_digits_losses": digits_run / "losses.png",
        "gan_ring8_scatter": final_sample(ring_run),
        "gan_ring8_losses": ring_run / "losses.png",
    }
    return outputs
