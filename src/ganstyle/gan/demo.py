"""GAN part of ``ganstyle demo``: DCGAN on the bundled digits, an MLP GAN on ring8.

Sized to take about two minutes on two CPU cores: 16-pixel digits reach recognisable
shapes in that budget, while 32 pixels need roughly three times longer per step.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from ganstyle.gan.trainer import TrainConfig, train_gan

DIGIT_STEPS, RING_STEPS = 1500, 2500
QUICK_STEPS = 10


def fast_cpu_precision() -> str:
    """bf16 where the CPU has native bf16 math (AVX512-BF16 / AMX), else fp32."""
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return "bf16" if any(getattr(torch.cpu, c, lambda: False)() for c in checks) else "fp32"


def _fresh(run_dir: Path) -> Path:
    # Re-running the demo replaces its own earlier runs, never anything else.
    if (run_dir / "config.toml").exists():
        shutil.rmtree(run_dir)
    return run_dir


def run_gan_demo(out: str | Path, seed: int = 0, quick: bool = False) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    digit_steps, ring_steps = (QUICK_STEPS, QUICK_STEPS) if quick else (DIGIT_STEPS, RING_STEPS)

    digits_cfg = TrainConfig(data="digits", image_size=16, model="dcgan", steps=digit_steps, batch_size=64,
                             g_lr=2e-4, d_lr=2e-4, ema_decay=0.995, precision=fast_cpu_precision(),
                             device="cpu", seed=seed, n_samples=100, log_every=min(50, digit_steps),
                             sample_every=0, ckpt_every=0, keep_checkpoints=1)
    digits_run = train_gan(digits_cfg, out=_fresh(out / "gan_digits"), progress=False)

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
