"""One run directory for every trainer: create or resume, config, checkpoints, logs, stops.

A trainer hands this helper plain data: a flat ``{name: tensor}`` dict plus a JSON-able
state for checkpoints, dicts of numbers for logs, image tensors for sample grids. The
helper owns the layout and the rules, so every trainer behaves the same::

    RUN/config.toml                       resolved config (reusable as --config)
    RUN/checkpoints/step_XXXXXXXX.*       safetensors + JSON pairs (see ganstyle.io.checkpoints)
    RUN/metrics.csv, RUN/metrics.jsonl    one row per log call; eval results too
    RUN/samples/step_XXXXXXXX.png         sample grids (or any picture the trainer draws)
    RUN/losses.png                        loss curves
    RUN/tensorboard/                      event files, with tensorboard=True (extra: ganstyle[tensorboard])

API (everything a trainer needs)::

    run = RunDir.open(path, resume=False, command="ganstyle train",   # new run: refuses a used directory
                      keep_checkpoints=3, tensorboard=False, is_main=True)
    run.write_config(cfg, header="...")          # dataclass or dict -> config.toml
    loaded = run.load_latest()                   # resume: (tensors, state, stem) of the newest checkpoint
                                                 #   that verifies (older ones are tried with a notice); None if none
    run.truncate_logs(step)                      # resume: drop log rows newer than the checkpoint
    with run.stop_signals():                     # SIGINT/SIGTERM -> run.stop_requested (main thread only)
        while step < steps:
            ...
            run.check_finite({"d_loss": d, "g_loss": g}, step)   # NaN/Inf -> NonFiniteError naming the last good checkpoint
            run.log({"step": step, "d_loss": d, ...})            # metrics.csv + metrics.jsonl (+ TensorBoard scalars)
            run.save_checkpoint(step, tensors, state)            # atomic; prunes, never the newest checkpoint that verifies
            run.evaluate(step, lambda: {"fid": 12.3})            # failures are logged and skipped, never fatal
            run.save_images(step, images)                        # samples/step_XXXXXXXX.png (+ TensorBoard image)
            run.log_picture(step, run.sample_path(step))         # a picture drawn by the trainer -> TensorBoard
            if run.stop_requested:
                run.save_checkpoint(step, tensors, state)
                run.finish_stop(step)    # signal: prints the resume command, raises RunInterrupted (exit 130/143)
                return                   # programmatic run.request_stop(): returns normally
    run.plot_losses(["d_loss", "g_loss"], title=...)
    run.close()

Rules:

- ``resume=False`` refuses a directory that already holds a checkpoint (continue it with
  ``--resume``) and one that holds run logs (``metrics.csv``, ``metrics.jsonl``, ``samples/``)
  without a checkpoint: two runs' logs are never mixed, and nothing is deleted for the user.
- ``resume=True`` needs an existing directory with ``config.toml``.
- SIGINT and SIGTERM are treated alike: the trainer checkpoints the current step, the helper
  prints ``continue with: <command> --resume RUN`` and raises :class:`RunInterrupted`, a
  ``KeyboardInterrupt`` whose ``exit_code`` is 130 (SIGINT) or 143 (SIGTERM). A second
  SIGINT interrupts at once. :meth:`RunDir.request_stop` (thread-safe, e.g. from a web UI)
  has the same effect except that :meth:`finish_stop` then returns instead of raising.
- Only the process with ``is_main=True`` writes (distributed runs); the others keep the
  same control flow so collective calls stay in step.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from ganstyle.errors import GanstyleError
from ganstyle.io.checkpoints import (
    checkpoint_stem, list_checkpoints, load_checkpoint, save_checkpoint, sha256_file,
)
from ganstyle.io.images import atomic_write_text
from ganstyle.io.runlog import append_csv, append_jsonl, plot_columns, truncate_csv

CONFIG_NAME = "config.toml"
LOG_NAMES = ("metrics.csv", "metrics.jsonl", "samples")
SIGNAL_EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class RunInterrupted(KeyboardInterrupt):
    """Raised after a signal-requested stop has checkpointed; ``exit_code`` is 128 + signal number."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class NonFiniteError(GanstyleError):
    """A logged value became NaN/Inf; the message names the last good checkpoint."""


def checkpoint_verifies(stem: Path) -> bool:
    """True when ``stem``'s JSON parses and its tensor file has the recorded size and SHA-256."""
    try:
        meta = json.loads(stem.with_suffix(".json").read_text())
        tensor_file = stem.with_suffix(".safetensors")
        return (isinstance(meta, dict) and tensor_file.stat().st_size == meta.get("tensor_bytes")
                and sha256_file(tensor_file) == meta.get("tensor_sha256"))
    except (OSError, ValueError):
        return False


class RunDir:
    """A run directory; see the module docstring for the API and its rules."""

    def __init__(self, path: str | Path, *, command: str = "ganstyle train", keep_checkpoints: int = 3,
                 tensorboard: bool = False, is_main: bool = True):
        self.path = Path(path)
        self.command = command
        self.keep_checkpoints = keep_checkpoints
        self.is_main = is_main
        self.checkpoints = self.path / "checkpoints"
        self._stop = threading.Event()
        self._stop_signal: int | None = None
        self._tb = None
        if tensorboard:
            self.enable_tensorboard()

    # ------------------------------------------------------------ create / resume

    @classmethod
    def open(cls, path: str | Path, *, resume: bool = False, **kw) -> RunDir:
        """A new run in ``path`` (``resume=False``) or an existing one to continue."""
        path = Path(path)
        if resume:
            if not path.is_dir():
                raise GanstyleError(f"--resume {path}: no such run directory")
            if not (path / CONFIG_NAME).is_file():
                raise GanstyleError(f"--resume {path}: not a run directory (no {CONFIG_NAME})")
            return cls(path, **kw)
        if path.exists() and not path.is_dir():
            raise GanstyleError(f"--out {path}: is a file, not a run directory")
        if list_checkpoints(path / "checkpoints"):
            raise GanstyleError(f"--out {path}: already holds a run; continue it with --resume {path} "
                                f"or choose a new --out")
        logs = [name for name in LOG_NAMES if (path / name).exists()]
        if logs:
            raise GanstyleError(f"--out {path}: holds logs of an earlier run ({', '.join(logs)}) but no checkpoint; "
                                f"delete them or choose a new --out, so two runs' logs are never mixed")
        return cls(path, **kw)

    def write_config(self, config: Any, header: str = "") -> Path:
        from ganstyle.config import write_config

        path = self.path / CONFIG_NAME
        if self.is_main:
            self.path.mkdir(parents=True, exist_ok=True)
            write_config(path, config, header=header)
        return path

    def resume_command(self) -> str:
        return f"{self.command} --resume {self.path}"

    # ------------------------------------------------------------ checkpoints

    def checkpoint_steps(self) -> list[int]:
        return [step for step, _ in list_checkpoints(self.checkpoints)]

    def latest_good_checkpoint(self) -> Path | None:
        """Newest checkpoint whose files verify (size and SHA-256), or None."""
        for _, stem in reversed(list_checkpoints(self.checkpoints)):
            if checkpoint_verifies(stem):
                return stem
        return None

    def load_latest(self, *, notice: Callable[[str], None] | None = None):
        """``(tensors, state, stem)`` of the newest checkpoint that loads; None when there is none.

        A newer checkpoint that fails to load is skipped with a one-line notice naming it and why.
        """
        notice = notice or (lambda line: print(line, file=sys.stderr))
        for _, stem in reversed(list_checkpoints(self.checkpoints)):
            try:
                tensors, state = load_checkpoint(stem)
            except GanstyleError as exc:
                notice(f"skipping checkpoint {stem.name}: {exc}")
                continue
            if not isinstance(state, dict) or not isinstance(state.get("step"), int):
                notice(f"skipping checkpoint {stem.name}: its JSON has no integer 'step'")
                continue
            return tensors, state, stem
        return None

    def save_checkpoint(self, step: int, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> Path:
        """Write ``checkpoints/step_XXXXXXXX`` atomically, then prune to ``keep_checkpoints``."""
        stem = checkpoint_stem(self.checkpoints, step)
        if self.is_main:
            save_checkpoint(stem, tensors, {**state, "step": step})
            self.prune()
        return stem

    def prune(self) -> None:
        """Keep the newest ``keep_checkpoints`` (0 = all), and always the newest one that verifies,
        so a damaged newer checkpoint never costs the last good one."""
        if self.keep_checkpoints <= 0:
            return
        ckpts = [stem for _, stem in list_checkpoints(self.checkpoints)]
        good = next((s for s in reversed(ckpts) if checkpoint_verifies(s)), None)
        for stem in ckpts[:-self.keep_checkpoints]:
            if stem == good:
                continue
            for suffix in (".json", ".safetensors"):
                stem.with_suffix(suffix).unlink(missing_ok=True)

    # ------------------------------------------------------------ logs

    def log(self, row: dict[str, Any]) -> None:
        """One row (must hold ``step``) into metrics.csv and metrics.jsonl (and TensorBoard)."""
        if not self.is_main:
            return
        append_csv(self.path / "metrics.csv", [row])
        append_jsonl(self.path / "metrics.jsonl", row)
        self._tb_scalars(row)

    def evaluate(self, step: int, measure: Callable[[], dict[str, float]], *, title: str = "") -> dict[str, float]:
        """Run ``measure`` and log its numbers; a failure is reported in one line and logged, never fatal."""
        if not self.is_main:
            return {}
        try:
            result = {k: float(v) for k, v in measure().items()}
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # any failure of an evaluation must not cost the run
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"evaluation at step {step} failed, training continues: {reason}", file=sys.stderr)
            append_jsonl(self.path / "metrics.jsonl", {"eval_error": {"step": step, "error": reason}})
            return {}
        row = {"step": step, **result}
        append_csv(self.path / "metrics.csv", [row])
        append_jsonl(self.path / "metrics.jsonl", {"eval": row})
        self._tb_scalars(row, prefix="eval/")
        plot_columns(self.path / "metrics.csv", self.path / "metrics.png", list(result), title=title)
        return result

    def truncate_logs(self, step: int) -> None:
        """Drop log records newer than ``step`` (the checkpoint a run resumes from)."""
        if not self.is_main:
            return
        truncate_csv(self.path / "metrics.csv", step)
        path = self.path / "metrics.jsonl"
        if path.exists():
            keep = [line for line in path.read_text().splitlines() if line.strip() and _record_step(line) <= step]
            atomic_write_text(path, "".join(line + "\n" for line in keep))

    def sample_path(self, step: int, suffix: str = ".png") -> Path:
        return self.path / "samples" / f"step_{step:08d}{suffix}"

    def save_images(self, step: int, images: torch.Tensor, *, nrow: int | None = None, upscale: int = 1) -> Path:
        """A grid of images in [-1, 1] (N, C, H, W) as samples/step_XXXXXXXX.png (and a TensorBoard image)."""
        from ganstyle.io.images import save_grid

        path = self.sample_path(step)
        if self.is_main:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_grid(images, path, nrow=nrow, upscale=upscale)
            self.log_picture(step, path)
        return path

    def log_picture(self, step: int, path: Path, tag: str = "samples") -> None:
        """Send a PNG the trainer drew (e.g. a scatter plot at :meth:`sample_path`) to TensorBoard."""
        if self._tb is None:
            return
        import numpy as np
        from PIL import Image

        with Image.open(path) as img:
            pixels = np.asarray(img.convert("RGB"))
        self._tb.add_image(tag, pixels, step, dataformats="HWC")
        self._tb.flush()

    def plot_losses(self, columns: list[str], *, title: str = "") -> Path | None:
        if not self.is_main:
            return None
        return plot_columns(self.path / "metrics.csv", self.path / "losses.png", columns, title=title)

    def _tb_scalars(self, row: dict[str, Any], prefix: str = "") -> None:
        if self._tb is None:
            return
        step = int(row["step"])
        for k, v in row.items():
            if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool):
                self._tb.add_scalar(prefix + k, float(v), step)
        self._tb.flush()

    def enable_tensorboard(self) -> None:
        """Also write TensorBoard event files to RUN/tensorboard (main process only)."""
        if self._tb is None and self.is_main:
            self._tb = _open_tensorboard(self.path / "tensorboard")

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None

    # ------------------------------------------------------------ NaN guard

    def check_finite(self, values: dict[str, float], step: int, hint: str = "") -> None:
        """Raise :class:`NonFiniteError` naming the first NaN/Inf value and the last good checkpoint."""
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if not bad:
            return
        last = self.latest_good_checkpoint()
        where = f"the last good checkpoint is {last}" if last else "no checkpoint had been saved yet"
        raise NonFiniteError(f"training diverged: {bad[0]} became {values[bad[0]]} by step {step}; {where}"
                             + (f" ({hint})" if hint else ""))

    # ------------------------------------------------------------ stopping

    def request_stop(self) -> None:
        """Ask the loop to checkpoint and return at the next step (thread-safe)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @contextmanager
    def stop_signals(self) -> Iterator[RunDir]:
        """While inside, SIGINT and SIGTERM request a stop (a second SIGINT interrupts at once)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handle(signum, frame):
            if self._stop.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self._stop_signal = signum
            self._stop.set()

        old = {s: signal.signal(s, handle) for s in SIGNAL_EXIT_CODES}
        try:
            yield self
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    def finish_stop(self, step: int) -> None:
        """After the stop checkpoint: print how to continue; raise :class:`RunInterrupted` if a signal asked."""
        name = signal.Signals(self._stop_signal).name if self._stop_signal else "a stop request"
        if self.is_main:
            print(f"stopped at step {step} ({name}); checkpoint saved; continue with: {self.resume_command()}",
                  file=sys.stderr)
        if self._stop_signal is not None:
            raise RunInterrupted(f"stopped by {name} at step {step}", SIGNAL_EXIT_CODES[self._stop_signal])


def _record_step(line: str) -> int:
    rec = json.loads(line)
    for key in ("eval", "eval_error"):
        if isinstance(rec.get(key), dict):
            return int(rec[key].get("step", 0))
    return int(rec.get("step", 0))


def _open_tensorboard(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise GanstyleError("--tensorboard: needs the tensorboard package; pip install 'ganstyle[tensorboard]'") from None
    folder.mkdir(parents=True, exist_ok=True)
    return SummaryWriter(log_dir=str(folder))
