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
import sys
from pathlib import Path
from typing import Any, Callable

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


def _rng_setstate_args(state: dict[str, Any]) -> dict[str, Any]:
    """The stored RNG entries converted to what each ``setstate`` call takes (raises on a bad shape)."""
    out: dict[str, Any] = {}
    if "python" in state:
        version, internal, gauss = state["python"]
        out["python"] = (int(version), tuple(int(v) for v in internal), gauss)
    if "numpy" in state:
        kind, keys, *rest = state["numpy"]
        out["numpy"] = (kind, np.asarray(keys, dtype=np.uint32), *rest)
    for key, value in state.items():
        if key == "torch" or key.startswith("gen:"):
            if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8:
                raise TypeError("not a uint8 generator state")
            out[key] = value
    if "cuda" in state:
        out["cuda"] = list(state["cuda"])
    return out


def check_rng_state(state: Any) -> None:
    """Raise ``ValueError`` naming the entry unless every RNG entry can be restored.

    Each entry is tried on a fresh generator of its kind, so the global ones are untouched.
    """
    if not isinstance(state, dict):
        raise ValueError(f"RNG state is a {type(state).__name__}, not a table")
    try:
        args = _rng_setstate_args(state)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"malformed RNG entry ({exc})") from None
    for key, value in args.items():
        try:
            if key == "python":
                random.Random().setstate(value)
            elif key == "numpy":
                np.random.RandomState().set_state(value)
            elif key != "cuda":
                torch.Generator().set_state(value)
        except (TypeError, ValueError, OverflowError, RuntimeError, IndexError) as exc:
            raise ValueError(f"malformed RNG entry {key!r} ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def restore_rng_state(state: dict[str, Any], generators: dict[str, torch.Generator] | None = None) -> None:
    """Put back every state :func:`capture_rng_state` recorded (a bad entry raises before any is changed)."""
    try:
        check_rng_state(state)
    except ValueError as exc:
        raise GanstyleError(f"checkpoint: {exc}") from None
    args = _rng_setstate_args(state)
    random.setstate(args["python"])
    np.random.set_state(args["numpy"])
    torch.set_rng_state(args["torch"])
    if "cuda" in args and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(args["cuda"])
    for name, gen in (generators or {}).items():
        key = f"gen:{name}"
        if key in args:
            gen.set_state(args[key])


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


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _read_meta(json_path: Path) -> dict[str, Any]:
    """The checkpoint description, checked for the fields every checkpoint has."""
    try:
        meta = json.loads(json_path.read_bytes().decode("utf-8"))
    except PermissionError:
        raise GanstyleError(f"{json_path}: permission denied") from None
    except OSError as exc:
        raise GanstyleError(f"{json_path}: cannot read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GanstyleError(f"{json_path}: not valid JSON, the file is truncated or corrupt ({exc})") from None

    def wrong(what: str) -> GanstyleError:
        return GanstyleError(f"{json_path}: not a ganstyle checkpoint description ({what})")

    if not isinstance(meta, dict):
        raise wrong(f"the top level is {_json_kind(meta)}, not an object")
    version = meta.get("format_version")
    if type(version) is not int:
        raise wrong(f"format_version is {_json_kind(version)}, not an integer")
    if version > FORMAT_VERSION:
        raise GanstyleError(f"{json_path}: written by a newer ganstyle (format {version}); upgrade ganstyle")
    for key, kind in (("tensor_bytes", int), ("tensor_sha256", str)):
        if type(meta.get(key)) is not kind:
            raise wrong(f"{key} is {_json_kind(meta.get(key))}")
    if not isinstance(meta.get("state", {}), (dict, list)):
        raise wrong(f"state is {_json_kind(meta['state'])}")
    return meta


def _check_tensor_file(st_path: Path, json_path: Path, meta: dict[str, Any]) -> None:
    expected = meta["tensor_bytes"]
    try:
        size = st_path.stat().st_size
        if size < expected:
            raise GanstyleError(f"{st_path}: truncated ({size} of the {expected} bytes recorded in {json_path.name})")
        if size != expected:
            raise GanstyleError(f"{st_path}: {size} bytes but {json_path.name} records {expected}; "
                                "the file is corrupt or was replaced")
        if sha256_file(st_path) != meta["tensor_sha256"]:
            raise GanstyleError(f"{st_path}: checksum mismatch with {json_path.name}; the file is corrupt or was replaced")
    except PermissionError:
        raise GanstyleError(f"{st_path}: permission denied") from None


def _check_state(state: Any, json_path: Path, require: tuple[str, ...]) -> None:
    """The entries trainers read back: ``step`` a count, ``rng`` restorable, ``require`` present."""

    def wrong(what: str) -> GanstyleError:
        return GanstyleError(f"{json_path}: not a ganstyle checkpoint description ({what})")

    if not isinstance(state, dict):
        raise wrong(f"state is {_json_kind(state)}")
    missing = [key for key in require if key not in state]
    if missing:
        raise wrong(f"no {missing[0]!r} entry")
    if "step" in state and (type(state["step"]) is not int or state["step"] < 0):
        raise wrong(f"step is {json.dumps(state['step'])}, not a step count")
    if "rng" in state:
        try:
            check_rng_state(state["rng"])
        except ValueError as exc:
            raise wrong(str(exc)) from None


def load_checkpoint(stem: str | os.PathLike, *, verify: bool = True, map_location: str = "cpu",
                    require: tuple[str, ...] = ()) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint pair; returns (flat tensors without state tensors, unpacked state).

    ``stem`` may be given with or without a ``.json``/``.safetensors`` suffix. Anything wrong
    (missing or unreadable files, a JSON of the wrong shape, a tensor file whose size or
    SHA-256 differs from the record, a malformed RNG entry, a missing state entry named in
    ``require``) is a :class:`GanstyleError` whose one line names the file and says why.
    """
    stem = Path(stem)
    if stem.suffix in (".json", ".safetensors"):
        stem = stem.with_suffix("")
    json_path, st_path = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
    if not json_path.exists():
        if st_path.exists():
            raise GanstyleError(f"{json_path}: missing; {st_path.name} is an incomplete checkpoint (was the run killed while saving?)")
        raise GanstyleError(f"{stem}: no checkpoint here (expected {json_path.name} and {st_path.name})")
    meta = _read_meta(json_path)
    if not st_path.exists():
        raise GanstyleError(f"{st_path}: missing tensor file for {json_path.name}")
    if verify:
        _check_tensor_file(st_path, json_path, meta)
    try:
        flat = load_file(str(st_path), device=map_location)
    except (SafetensorError, OSError, ValueError) as exc:
        raise GanstyleError(f"{st_path}: cannot read tensors ({exc})") from None
    try:
        state = unpack_state(meta.get("state", {}), flat)
    except (TypeError, ValueError, AttributeError) as exc:
        raise GanstyleError(f"{json_path}: not a ganstyle checkpoint description (malformed state: {exc})") from None
    _check_state(state, json_path, tuple(require))
    tensors = {k: v for k, v in flat.items() if not k.startswith("state.")}
    return tensors, state


def sub_state_dict(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """``{"G.a": x, "D.b": y}``, ``"G"`` -> ``{"a": x}``."""
    p = prefix + "."
    return {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}


_STEP_RE = re.compile(r"^step_(\d+)\.(json|safetensors)$")


def list_checkpoints(folder: str | os.PathLike) -> list[tuple[int, Path]]:
    """(step, stem) for each ``step_XXXXXXXX`` pair in ``folder``, oldest first.

    A stem is listed when either of its two files exists, so an incomplete or damaged
    checkpoint is seen (and reported) rather than silently passed over.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = {}
    for p in folder.iterdir():
        m = _STEP_RE.match(p.name)
        if m:
            found[p.with_suffix("")] = int(m.group(1))
    return sorted((step, stem) for stem, step in found.items())


def warn_on_stderr(line: str) -> None:
    """The default ``notify`` of the recovery functions below."""
    print(f"warning: {line}", file=sys.stderr)


def load_newest_checkpoint(folder: str | os.PathLike, *, notify: Callable[[str], None] | None = warn_on_stderr,
                           require: tuple[str, ...] = (), map_location: str = "cpu",
                           ) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any]] | None:
    """``(stem, tensors, state)`` of the newest checkpoint in ``folder`` that loads and verifies.

    This is the one recovery rule for resume, ``sample`` and ``eval``: a newer checkpoint that
    fails (truncated, garbage or wrong-shape JSON, corrupted bytes, missing half) is skipped
    and ``notify`` gets one line per skipped file naming it and why. Returns None when the
    folder holds no checkpoint at all; raises :class:`GanstyleError` (naming the newest file
    and why) when none of them verifies.
    """
    failures = []
    for _, stem in reversed(list_checkpoints(folder)):
        try:
            tensors, state = load_checkpoint(stem, map_location=map_location, require=require)
        except GanstyleError as exc:
            failures.append((stem, str(exc)))
            continue
        for bad, failure in failures if notify else ():
            notify(f"skipping checkpoint {bad.name}: {failure}; using {stem.name} instead")
        return stem, tensors, state
    if not failures:
        return None
    older = f"the {len(failures) - 1} older ones do not verify either" if len(failures) > 1 else "no older checkpoint"
    raise GanstyleError(f"{failures[0][1]} ({older})")


def newest_valid_checkpoint(folder: str | os.PathLike, *, notify: Callable[[str], None] | None = warn_on_stderr,
                            require: tuple[str, ...] = ()) -> Path | None:
    """Stem of the newest checkpoint in ``folder`` that verifies (see :func:`load_newest_checkpoint`)."""
    found = load_newest_checkpoint(folder, notify=notify, require=require)
    return found[0] if found else None


def latest_checkpoint(folder: str | os.PathLike) -> Path | None:
    """Stem of the newest checkpoint in ``folder`` that verifies, or None; silent (no notices, no errors)."""
    try:
        return newest_valid_checkpoint(folder, notify=None)
    except GanstyleError:
        return None


def checkpoint_verifies(stem: str | os.PathLike, require: tuple[str, ...] = ()) -> bool:
    """True when :func:`load_checkpoint` would succeed on ``stem``."""
    try:
        load_checkpoint(stem, require=require)
    except GanstyleError:
        return False
    return True


def checkpoint_stem(folder: str | os.PathLike, step: int) -> Path:
    return Path(folder) / f"step_{step:08d}"


def prune_checkpoints(folder: str | os.PathLike, keep: int, protect: tuple[Path, ...] = ()) -> None:
    """Delete all but the newest ``keep`` checkpoints (``keep=0``: delete nothing).

    Never deletes those in ``protect`` (taken as good: the caller just wrote them) nor the
    newest checkpoint that verifies, so damaged newer checkpoints never cost the last good one.
    """
    if keep <= 0:
        return
    ckpts = [stem for _, stem in list_checkpoints(folder)]
    protect = tuple(Path(p) for p in protect)
    last_good = next((stem for stem in reversed(ckpts) if stem in protect or checkpoint_verifies(stem)), None)
    for stem in ckpts[:-keep]:
        if stem in protect or stem == last_good:
            continue
        for suffix in (".json", ".safetensors"):
            stem.with_suffix(suffix).unlink(missing_ok=True)
