"""Small PyTorch helpers shared by every job: device, precision, seeding, threads."""

from __future__ import annotations

import contextlib
import os
import random
from typing import Iterator

import numpy as np
import torch

from ganstyle.errors import GanstyleError

PRECISIONS = ("fp32", "bf16", "fp16")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda if available else cpu; ``cuda``/``cuda:1``/``cpu``/``mps`` checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GanstyleError(f"--device: unknown device {name!r} (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GanstyleError("--device cuda: no CUDA GPU is visible to PyTorch (install a CUDA build of torch, or use --device cpu)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GanstyleError("--device mps: MPS is not available on this machine")
    return device


def check_precision(precision: str, device: torch.device) -> None:
    if precision not in PRECISIONS:
        raise GanstyleError(f"--precision: {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type != "cuda":
        raise GanstyleError("--precision fp16 needs a CUDA device (on CPU use bf16, which this CPU runs fast)")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a CPU generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def eval_mode(*modules: torch.nn.Module) -> Iterator[None]:
    """Put modules in eval mode for a block, then restore their previous mode."""
    was = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, t in zip(modules, was):
            m.train(t)


def default_threads() -> int:
    """Threads for intra-op parallelism: all cores unless OMP_NUM_THREADS says otherwise."""
    env = os.environ.get("OMP_NUM_THREADS")
    return int(env) if env and env.isdigit() else (os.cpu_count() or 1)


def available_memory(device: torch.device, unknown: int = 4 << 30) -> int:
    """Bytes still free for a computation on ``device``: free GPU memory on CUDA, MemAvailable
    on the CPU; ``unknown`` when the system does not say."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return unknown


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
