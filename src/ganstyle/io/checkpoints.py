"""Checkpoints as safetensors + JSON: no pickle, atomic, verifiable, resumable.

A checkpoint is a pair ``STEM.safetensors`` (every tensor: weights, optimizer moments,
RNG states) and ``STEM.json`` (everything else: step, hyper-parameters, versions, and the
structure that puts the tensors back in place). The JSON is written *last* and records
the size and SHA-256 of the tensor file, so a pair is complete exactly when its JSON
exists and matches; a process killed mid-write leaves only a stray temp file.

Loading never executes code: safetensors holds raw tensors and JSON holds plain data.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganstyle.errors import GanstyleError
from ganstyle.io.images import atomic_path, atomic_write_text

FORMAT_VERSION = 1
_TENSOR_REF = "__tensor__"
_TUPLE = "__tuple__"


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------ nested state <-> flat


def pack_state(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor inside nested dicts/lists/tuples by a reference.

    The tensors go into ``tensors`` under dotted keys starting with ``prefix``; the
    returned structure is plain JSON. This is how optimizer and RNG state travel.
    """
    if isinstance(obj, torch.Tensor):
        key = prefix
        tensors[key] = obj.detach().cpu().contiguous()
        return {_TENSOR_REF: key}
    if isinstance(obj, np.ndarray):
        return pack_state(torch.from_numpy(np.ascontiguousarray(obj)), prefix, tensors)
    if isinstance(obj, dict):
        return {"__dict__": [[pack_state(k, f"{prefix}.k{i}", tensors), pack_state(v, f"{prefix}.{i}", tensors)]
                             for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, tuple):
        return {_TUPLE: [pack_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [pack_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint (at {prefix})")


def unpack_state(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`pack_state`."""
    if isinstance(obj, dict):
        if _TENSOR_REF in obj:
            try:
                return tensors[obj[_TENSOR_REF]]
            except KeyError:
                raise GanstyleError(f"checkpoint is missing tensor {obj[_TENSOR_REF]!r}") from None
        if _TUPLE in obj:
            return tuple(unpack_state(v, tensors) for v in obj[_TUPLE])
        if "__dict__" in obj:
            return {unpack_state(k, tensors): unpack_state(v, tensors) for k, v in obj["__dict__"]}
        return {k: unpack_state(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unpack_state(v, tensors) for v in obj]
    return obj


# ------------------------------------------------------------------ RNG state


def capture_rng_state(generators: dict[str, torch.Generator] | None = None) -> dict[str, Any]:
    """Every random state a run depends on: python, numpy, torch (CPU, CUDA) and named generators."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    for name, gen in (generators or {}).items():
        state[f"gen:{name}"] = gen.get_state()
    return state


def restore_rng_state(state: dict[str, Any], generators: dict[str, torch.Generator] | None = None) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    np_state = state["numpy"]
    np.random.set_state((np_state[0], np.asarray(np_state[1], dtype=np.uint32), *np_state[2:]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for name, gen in (generators or {}).items():
        key = f"gen:{name}"
        if key in state:
            gen.set_state(state[key])


# ------------------------------------------------------------------ save / load


def _versions() -> dict[str, str]:
    from ganstyle import __version__

    return {"ganstyle": __version__, "torch": torch.__version__, "python": platform.python_version()}


def save_checkpoint(stem: str | os.PathLike, tensors: dict[str, torch.Tensor], state: dict[str, Any] | None = None) -> Path:
    """Write ``STEM.safetensors`` then ``STEM.json``, each atomically; return the JSON path.

    ``tensors`` is a flat name -> tensor dict (e.g. ``{"G." + k: v for k, v in G.state_dict().items()}``).
    ``state`` may hold nested structures with tensors inside (see :func:`pack_state`).
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    flat = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    packed = pack_state(state or {}, "state", flat)
    # safetensors refuses tensors that share memory; clone the rare aliases.
    seen: dict[int, str] = {}
    for k, v in list(flat.items()):
        if v.numel() and v.data_ptr() in seen:
            flat[k] = v.clone()
        seen[v.data_ptr()] = k
    st_path = stem.with_suffix(".safetensors")
    with atomic_path(st_path) as tmp:
        save_file(flat, str(tmp), metadata={"format": "ganstyle", "format_version": str(FORMAT_VERSION)})
    meta = {
        "format_version": FORMAT_VERSION,
        "tensor_file": st_path.name,
        "tensor_bytes": st_path.stat().st_size,
        "tensor_sha256": sha256_file(st_path),
        "versions": _versions(),
        "state": packed,
    }
    json_path = stem.with_suffix(".json")
    atomic_write_text(json_path, json.dumps(meta, indent=1) + "\n")
    return json_path


def load_checkpoint(stem: str | os.PathLike, *, verify: bool = True, map_location: str = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint pair; returns (flat tensors without state tensors, unpacked state).

    ``stem`` may be given with or without a ``.json``/``.safetensors`` suffix.
    """
    stem = Path(stem)
    if stem.suffix in (".json", ".safetensors"):
        stem = stem.with_suffix("")
    json_path, st_path = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
    if not json_path.exists():
        if st_path.exists():
            raise GanstyleError(f"{json_path}: missing; {st_path.name} is an incomplete checkpoint (was the run killed while saving?)")
        raise GanstyleError(f"{stem}: no checkpoint here (expected {json_path.name} and {st_path.name})")
    try:
        meta = json.loads(json_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GanstyleError(f"{json_path}: not a valid checkpoint description ({exc})") from None
    if not st_path.exists():
        raise GanstyleError(f"{st_path}: missing tensor file for {json_path.name}")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise GanstyleError(f"{json_path}: written by a newer ganstyle (format {meta['format_version']}); upgrade ganstyle")
    if verify:
        size = st_path.stat().st_size
        if size != meta.get("tensor_bytes") or sha256_file(st_path) != meta.get("tensor_sha256"):
            raise GanstyleError(f"{st_path}: checksum mismatch with {json_path.name}; the file is corrupt or was replaced")
    try:
        flat = load_file(str(st_path), device=map_location)
    except (SafetensorError, OSError, ValueError) as exc:
        raise GanstyleError(f"{st_path}: cannot read tensors ({exc})") from None
    state = unpack_state(meta.get("state", {}), flat)
    tensors = {k: v for k, v in flat.items() if not k.startswith("state.")}
    return tensors, state


def sub_state_dict(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """``{"G.a": x, "D.b": y}``, ``"G"`` -> ``{"a": x}``."""
    p = prefix + "."
    return {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}


_STEP_RE = re.compile(r"^step_(\d+)\.json$")


def list_checkpoints(folder: str | os.PathLike) -> list[tuple[int, Path]]:
    """(step, stem) for each ``step_XXXXXXXX.json`` in ``folder``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _STEP_RE.match(p.name)
        if m and p.with_suffix(".safetensors").exists():
            found.append((int(m.group(1)), p.with_suffix("")))
    return sorted(found)


def latest_checkpoint(folder: str | os.PathLike) -> Path | None:
    """Stem of the newest checkpoint in ``folder`` that verifies, or None."""
    for _, stem in reversed(list_checkpoints(folder)):
        try:
            meta = json.loads(stem.with_suffix(".json").read_text())
            if stem.with_suffix(".safetensors").stat().st_size == meta.get("tensor_bytes"):
                return stem
        except (OSError, json.JSONDecodeError):
            continue
    return None


def checkpoint_stem(folder: str | os.PathLike, step: int) -> Path:
    return Path(folder) / f"step_{step:08d}"


def prune_checkpoints(folder: str | os.PathLike, keep: int, protect: tuple[Path, ...] = ()) -> None:
    """Delete all but the newest ``keep`` checkpoints (never those in ``protect``)."""
    if keep <= 0:
        return
    ckpts = list_checkpoints(folder)
    for _, stem in ckpts[:-keep]:
        if stem in protect:
            continue
        for suffix in (".json", ".safetensors"):
            stem.with_suffix(suffix).unlink(missing_ok=True)
