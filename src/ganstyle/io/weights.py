"""Pretrained weights on disk: finding them (``--weights``, an environment variable, a cache) and reading them safely."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch

from ganstyle.errors import GanstyleError


def find_local_weights(explicit: str | os.PathLike | None, env_var: str, cached: Path, expected: str) -> Path | None:
    """The weights file named by ``explicit`` (``--weights``), else by ``$env_var``, else ``cached``.

    Returns None when nothing is on disk. A file that is *named* but missing is an error naming
    the flag or variable; ``expected`` says which file it should be.
    """
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            if path.is_symlink() or path.exists():  # a link loop, a dangling link, a folder: say which
                from ganstyle.io.images import check_input_file

                try:
                    check_input_file(path, what=expected)
                except GanstyleError as exc:
                    raise GanstyleError(f"--weights {exc}") from None
            raise GanstyleError(f"--weights {path}: no such file (expected {expected})")
        return path
    env = os.environ.get(env_var)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise GanstyleError(f"${env_var}={env}: no such file (expected {expected}); fix it or unset it")
        return path
    return cached if cached.is_file() else None


def _one_line_reason(exc: BaseException) -> str:
    """The useful line of a loading error.

    PyTorch's refusal to unpickle spans many lines and suggests ``weights_only=False``
    (running arbitrary code from the file); only its diagnosis is kept.
    """
    text = str(exc)
    marker = "WeightsUnpickler error:"
    if marker in text:
        text = text.split(marker, 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = lines[0].split(". ")[0] if lines else "unreadable"  # its first sentence: the rest is advice
    return f"{type(exc).__name__}: {reason}"[:200]


def read_weights_file(path: str | os.PathLike, keys: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
    """Tensors from a ``.safetensors`` file or a PyTorch state_dict file, never unpickling code.

    ``keys`` reads only those names (a ``module.`` prefix from DataParallel is accepted;
    absent keys are left out). A ``{"state_dict": ...}`` wrapper is unwrapped. Any failure
    is one :class:`GanstyleError` line naming the file.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt", device="cpu") as f:
                present = set(f.keys())
                wanted = present if keys is None else [k for k in keys if k in present]
                return {k: f.get_tensor(k) for k in wanted}
        except PermissionError:
            raise GanstyleError(f"{path}: permission denied") from None
        except (SafetensorError, OSError) as exc:
            raise GanstyleError(f"{path}: not a readable .safetensors file ({_one_line_reason(exc)})") from None
    try:
        try:  # mmap keeps large files on disk; legacy (non-zip) files cannot be mapped
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError:
        raise GanstyleError(f"{path}: permission denied") from None
    except Exception as exc:  # noqa: BLE001 - the unpickler raises many types for a file that is not a checkpoint
        raise GanstyleError(f"{path}: not a PyTorch checkpoint that can be loaded safely ({_one_line_reason(exc)})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise GanstyleError(f"{path}: expected a state_dict (a dict of tensors), found {type(state).__name__}")
    if keys is None:
        return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    out = {}
    for k in keys:
        t = state.get(k, state.get("module." + k))
        if isinstance(t, torch.Tensor):
            out[k] = t.detach().clone()
    return out
