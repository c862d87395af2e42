"""Small PyTorch helpers shared by every job: device, precision, seeding, threads."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

from ganstyle.errors import GanstyleError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


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


def native_bf16(device: torch.device) -> bool:
    """True where bf16 matrix math runs natively: CUDA devices that support it, and CPUs with
    AMX or AVX-512 BF16. Elsewhere (AVX2-only CPUs) bf16 autocast is emulated and several times
    slower than fp32."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(torch.cpu, c, lambda: False)()) for c in checks)


def check_precision(precision: str, device: torch.device) -> None:
    if precision not in PRECISIONS:
        raise GanstyleError(f"--precision: {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type != "cuda":
        raise GanstyleError("--precision fp16 needs a CUDA device (on CPU use --precision auto: bf16 where "
                            "the CPU runs it natively, fp32 otherwise)")


def resolve_precision(precision: str, device: torch.device, *, warn=print) -> str:
    """The concrete precision (fp32/bf16/fp16) for ``precision`` on ``device``.

    ``auto`` picks bf16 only where the hardware runs it natively (:func:`native_bf16`) and fp32
    otherwise. An explicit ``bf16`` on hardware without native bf16 is honoured, with a one-line
    warning through ``warn`` (pass ``None`` to silence it), because it is then much slower.
    """
    check_precision(precision, device)
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if precision == "bf16" and warn is not None and not native_bf16(device):
        warn(f"warning: --precision bf16 on {device.type} without native bf16 support runs several times "
             f"slower than fp32 (use --precision auto or fp32)")
    return precision


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Autocast context for a concrete ``precision`` (a no-op for fp32)."""
    if precision == "auto":
        precision = resolve_precision(precision, device)
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
