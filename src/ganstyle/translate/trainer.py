"""Training an unpaired translator into a run directory.

    cfg = TranslateConfig(domain_a="digits", model="cyclegan", steps=2000)
    run = train_translation(cfg, out="runs/digits-cyclegan")     # ganstyle translate-train ...
    run = train_translation(resume="runs/digits-cyclegan", steps=4000)   # continues bit-exactly (CPU)

The run directory is laid out like ``ganstyle train``'s: ``config.toml`` (the resolved
settings: run fields and the model's fields in one table), ``checkpoints/step_XXXXXXXX``
(all weights, both optimizers, the image pools, both data samplers' positions and every
RNG state), ``samples/step_XXXXXXXX.png``, ``metrics.csv``/``metrics.jsonl`` and
``losses.png``. Ctrl-C or SIGTERM stops after the current step with a checkpoint; a loss
that turns NaN/Inf stops the run with the last good checkpoint named.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganstyle.config import field, from_dict, read_config_file, to_dict, validate
from ganstyle.errors import GanstyleError
from ganstyle.gan.trainer import BatchSampler
from ganstyle.io.checkpoints import capture_rng_state, restore_rng_state, sub_state_dict
from ganstyle.io.rundir import RunDir
from ganstyle.torch_utils import resolve_device
from ganstyle.translate.cyclegan import CycleGAN, CycleGANConfig
from ganstyle.translate.data import DomainPair, load_domains
from ganstyle.translate.munit import MUNIT, MUNITConfig

MODELS = {"cyclegan": (CycleGAN, CycleGANConfig), "munit": (MUNIT, MUNITConfig)}
# Style codes per input in MUNIT sample grids.
SAMPLE_STYLES = 4


@dataclass
class TranslateConfig:
    """Data, optimisation and run settings of a translation run (the model's own are in its config)."""

    domain_a: str = field("digits", help="folder of domain-A images (recursive), or 'digits' for the built-in digits -> coloured digits pair")
    domain_b: str | None = field(None, help="folder of domain-B images (not used with a built-in pair)")
    image_size: int = field(32, help="image side in pixels (images are resized and centre-cropped; a multiple of 4)")
    model: str = field("cyclegan", help="translation model", choices=tuple(MODELS))
    steps: int = field(2000, ge=1, help="training steps in total (a resumed run continues up to this)")
    batch_size: int = field(8, ge=1, help="images of each domain per step")
    lr: float = field(2e-4, gt=0, help="Adam learning rate of generators and discriminators")
    beta1: float = field(0.5, ge=0, lt=1, help="Adam beta1")
    beta2: float = field(0.999, ge=0, lt=1, help="Adam beta2")
    seed: int = field(0, help="random seed (runs are bit-exact on CPU for a given seed)")
    device: str = field("auto", help="auto, cpu, cuda or cuda:N")
    log_every: int = field(50, ge=1, help="steps between loss log rows (and NaN checks)")
    sample_every: int = field(500, ge=0, help="steps between sample grids (0 = only at the end)")
    ckpt_every: int = field(500, ge=0, help="steps between checkpoints (0 = only at the end)")
    keep_checkpoints: int = field(3, ge=0, help="how many recent checkpoints to keep (0 = all)")
    n_samples: int = field(8, ge=1, help="inputs per domain in each sample grid")


# Settings a resumed run must keep: changing them would not continue the same run.
FIXED_ON_RESUME = ("domain_a", "domain_b", "image_size", "model", "batch_size", "seed")


def model_config_class(model: str):
    try:
        return MODELS[model][1]
    except KeyError:
        raise GanstyleError(f"--model: unknown model {model!r}; choose one of {', '.join(MODELS)}") from None


def build_model(model: str, model_cfg, channels: int = 3, generator: torch.Generator | None = None):
    cls, cfg_cls = MODELS[model]
    if not isinstance(model_cfg, cfg_cls):
        raise GanstyleError(f"--model {model}: expects a {cfg_cls.__name__}, got {type(model_cfg).__name__}")
    return cls(model_cfg, channels, generator=generator)


def split_settings(data: dict[str, Any], source: str) -> tuple[TranslateConfig, Any]:
    """One flat table (a run's config.toml) -> (TranslateConfig, the model's config)."""
    run_names = {f.name for f in dataclasses.fields(TranslateConfig)}
    cfg = from_dict(TranslateConfig, {k: v for k, v in data.items() if k in run_names}, source=source)
    model_cfg = from_dict(model_config_class(cfg.model), {k: v for k, v in data.items() if k not in run_names},
                          source=source)
    return cfg, model_cfg


def load_run_settings(run_dir: str | Path) -> tuple[TranslateConfig, Any]:
    path = Path(run_dir) / "config.toml"
    if not path.is_file():
        raise GanstyleError(f"{run_dir}: not a translation run (no config.toml)")
    return split_settings(read_config_file(path), str(path))


def check_config(cfg: TranslateConfig) -> None:
    for name in ("steps", "batch_size", "log_every", "n_samples"):
        if getattr(cfg, name) < 1:
            raise GanstyleError(f"--{name.replace('_', '-')}: must be at least 1, got {getattr(cfg, name)}")
    if cfg.lr <= 0:
        raise GanstyleError(f"--lr: must be positive, got {cfg.lr}")


class TranslationTrainer:
    def __init__(self, cfg: TranslateConfig, model_cfg, run_dir: str | Path | RunDir, pair: DomainPair | None = None):
        check_config(cfg)
        self.cfg, self.model_cfg = cfg, model_cfg
        self.run = run_dir if isinstance(run_dir, RunDir) else RunDir(
            run_dir, command="ganstyle translate-train", keep_checkpoints=cfg.keep_checkpoints)
        self.run_dir = self.run.path
        self.device = resolve_device(cfg.device)
        self.pair = pair if pair is not None else load_domains(cfg.domain_a, cfg.domain_b, cfg.image_size, cfg.seed)
        if self.pair.image_size != cfg.image_size:
            raise GanstyleError(f"--image-size {cfg.image_size}: the given domains hold {self.pair.image_size}-px images")
        self.noise = torch.Generator(self.device).manual_seed(cfg.seed + 1)
        torch.manual_seed(cfg.seed)  # model init
        self.model = build_model(cfg.model, model_cfg, self.pair.a.shape[1], generator=self.noise).to(self.device)
        g_params = itertools.chain(*(m.parameters() for m in self.model.generators()))
        d_params = itertools.chain(*(m.parameters() for m in self.model.discriminators()))
        self.opt_G = torch.optim.Adam(g_params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.opt_D = torch.optim.Adam(d_params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.x_a, self.x_b = self.pair.a.to(self.device), self.pair.b.to(self.device)
        try:
            self.sampler_a = BatchSampler(len(self.x_a), cfg.batch_size, cfg.seed, self.device)
            self.sampler_b = BatchSampler(len(self.x_b), cfg.batch_size, cfg.seed + 1, self.device)
        except GanstyleError as exc:
            raise GanstyleError(f"{exc} (domain A: {len(self.x_a)}, domain B: {len(self.x_b)} images)") from None
        fixed = torch.Generator().manual_seed(cfg.seed + 2)
        self.fixed_a = self.x_a[torch.randperm(len(self.x_a), generator=fixed)[:cfg.n_samples].to(self.device)]
        self.fixed_b = self.x_b[torch.randperm(len(self.x_b), generator=fixed)[:cfg.n_samples].to(self.device)]
        self.fixed_styles = (torch.randn(SAMPLE_STYLES, model_cfg.style_dim, generator=fixed).to(self.device)
                             if cfg.model == "munit" else None)
        self.step = 0
        self._reset_window()

    # ------------------------------------------------------------ one step

    def train_step(self) -> None:
        a, b = self.x_a[self.sampler_a.next()], self.x_b[self.sampler_b.next()]
        discriminators = self.model.discriminators()
        for d in discriminators:
            d.requires_grad_(False)  # no weight gradients for D in the generator update
        g_total, g_parts, fakes = self.model.generator_loss(a, b)
        self.opt_G.zero_grad(set_to_none=True)
        g_total.backward()
        self.opt_G.step()
        for d in discriminators:
            d.requires_grad_(True)
        d_total, d_parts = self.model.discriminator_loss(a, b, fakes)
        self.opt_D.zero_grad(set_to_none=True)
        d_total.backward()
        self.opt_D.step()
        w = self.window
        for name, value in [("g_total", g_total), ("d_total", d_total), *g_parts.items(), *d_parts.items()]:
            w[name] = w.get(name, 0.0) + value.detach()
        w["_n"] += 1

    # ------------------------------------------------------------ the loop

    def train(self, progress: bool = True) -> Path:
        from tqdm.auto import tqdm

        cfg = self.cfg
        pbar = tqdm(total=cfg.steps, initial=self.step, disable=not progress, unit="step", dynamic_ncols=True,
                    desc=f"{cfg.model} {self.pair.name}")
        with self.run.stop_signals():
            while self.step < cfg.steps:
                self.train_step()
                self.step += 1
                pbar.update(1)
                final = self.step == cfg.steps or self.run.stop_requested
                if self.step % cfg.log_every == 0 or final:
                    pbar.set_postfix(self.log(), refresh=False)
                if _due(self.step, cfg.sample_every) or final:
                    self.save_samples()
                if _due(self.step, cfg.ckpt_every) or final:
                    self.save()
                if self.run.stop_requested and self.step < cfg.steps:
                    pbar.close()
                    self.run.finish_stop(self.step)  # raises RunInterrupted after a signal
                    return self.run_dir
        pbar.close()
        return self.run_dir

    # ------------------------------------------------------------ logging

    def _reset_window(self) -> None:
        self.window: dict[str, Any] = {"_n": 0}
        self._window_start = time.process_time()

    def _check_finite(self) -> dict[str, float]:
        """Window means of every loss; a NaN/Inf stops the run naming the last good checkpoint."""
        n = max(self.window["_n"], 1)
        vals = {k: float(v) / n for k, v in self.window.items() if k != "_n"}
        self.run.check_finite(vals, self.step, hint="try a lower --lr")
        return vals

    def log(self) -> dict[str, float]:
        vals = self._check_finite()
        row = {"step": self.step, **vals,
               "cpu_s_per_step": (time.process_time() - self._window_start) / max(self.window["_n"], 1)}
        self.run.log(row)
        self._reset_window()
        return {"g": round(vals["g_total"], 3), "d": round(vals["d_total"], 3)}

    def sample_rows(self) -> tuple[torch.Tensor, int]:
        """Rows of a sample grid: A, A→B (one row per fixed style for MUNIT), A→B→A or B, B→A."""
        m, a, b = self.model, self.fixed_a, self.fixed_b
        with torch.no_grad():
            if self.cfg.model == "munit":
                rows = [a] + [m.translate(a, "a2b", style=s[None]) for s in self.fixed_styles]
                rows += [b, m.translate(b, "b2a", style=self.fixed_styles[:1])]
            else:
                ab = m.translate(a, "a2b")
                rows = [a, ab, m.translate(ab, "b2a"), b, m.translate(b, "b2a")]
        return torch.cat(rows).float().cpu(), len(a)

    def save_samples(self) -> Path:
        images, nrow = self.sample_rows()
        path = self.run.save_images(self.step, images, nrow=nrow, upscale=max(1, 64 // images.shape[-1]))
        self.run.plot_losses(["g_total", "d_total", "adv", "cycle", "identity", "recon_x", "recon_c", "recon_s"],
                             title=f"{self.cfg.model} on {self.pair.name}")
        return path

    # ------------------------------------------------------------ checkpoints

    def save(self) -> Path:
        self._check_finite()  # never write a checkpoint from diverged weights
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        state = {
            "step": self.step,
            "config": {**to_dict(self.cfg), **to_dict(self.model_cfg)},
            "model": {"name": self.cfg.model, "image_size": self.cfg.image_size, "channels": int(self.x_a.shape[1]),
                      "domains": self.pair.name},
            "optim_G": self.opt_G.state_dict(), "optim_D": self.opt_D.state_dict(),
            "sampler_a": self.sampler_a.state_dict(), "sampler_b": self.sampler_b.state_dict(),
            "model_extra": self.model.extra_state(),
            "rng": capture_rng_state({"noise": self.noise}),
        }
        return self.run.save_checkpoint(self.step, tensors, state)

    def load(self, tensors: dict[str, torch.Tensor], state: dict[str, Any], stem: Path) -> None:
        try:
            self.model.load_state_dict(sub_state_dict(tensors, "model"))
            self.opt_G.load_state_dict(state["optim_G"])
            self.opt_D.load_state_dict(state["optim_D"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise GanstyleError(f"{stem}: checkpoint does not match the model settings of this run "
                                f"({str(exc).splitlines()[0]})") from None
        self.model.load_extra_state(state["model_extra"], self.device)
        self.sampler_a.load_state_dict(state["sampler_a"])
        self.sampler_b.load_state_dict(state["sampler_b"])
        restore_rng_state(state["rng"], {"noise": self.noise})
        self.step = int(state["step"])
        self._reset_window()


def _due(step: int, every: int) -> bool:
    return every > 0 and step % every == 0


def _check_resume_settings(given: dict[str, Any], stored: dict[str, Any], run_dir: Path) -> None:
    model_names = {f.name for f in dataclasses.fields(model_config_class(stored["model"]))}
    for name in (*FIXED_ON_RESUME, *sorted(model_names)):
        if name in given and given[name] != stored.get(name):
            raise GanstyleError(f"--{name.replace('_', '-')} {given[name]}: run {run_dir} was trained with "
                                f"{stored.get(name)}; a resumed run keeps its data and model settings")


def train_translation(config: TranslateConfig | None = None, model_config=None, *, out: str | Path | None = None,
                      resume: str | Path | None = None, progress: bool = True, pair: DomainPair | None = None,
                      **overrides) -> Path:
    """Train a CycleGAN or MUNIT-lite translator; return its run directory.

    ``out``: a new run directory (``config``/``model_config`` default to the defaults of
    ``config.model``). ``resume``: an existing run, continued from its newest checkpoint
    with its own settings; ``overrides`` (e.g. ``steps=4000``) apply on top, and changing
    a data or model setting is an error. ``pair`` passes in-memory domains from Python.
    """
    if resume is not None:
        run = RunDir.open(resume, resume=True, command="ganstyle translate-train")
        cfg, model_cfg = load_run_settings(run.path)
        stored = {**to_dict(cfg), **to_dict(model_cfg)}
        given = {**(to_dict(config) if config else {}), **(to_dict(model_config) if model_config else {}), **overrides}
        _check_resume_settings(given, stored, run.path)
        run_fields = {f.name for f in dataclasses.fields(TranslateConfig)}
        cfg = validate(dataclasses.replace(cfg, **{k: v for k, v in given.items() if k in run_fields}))
        run.keep_checkpoints = cfg.keep_checkpoints
    else:
        if out is None:
            raise GanstyleError("--out: give a run directory for the new run (or --resume RUN_DIR)")
        # The declared ranges, checked before a run directory is made (for Python callers too).
        cfg = validate(dataclasses.replace(config or TranslateConfig(), **overrides))
        model_cfg = validate(model_config or model_config_class(cfg.model)())
        run = RunDir.open(out, command="ganstyle translate-train", keep_checkpoints=cfg.keep_checkpoints)
    trainer = TranslationTrainer(cfg, model_cfg, run, pair=pair)
    if resume is not None:
        loaded = run.load_latest()
        if loaded is None:
            raise GanstyleError(f"--resume {run.path}: no checkpoint found in {run.checkpoints}")
        trainer.load(*loaded)
        run.truncate_logs(trainer.step)
    run.write_config({**to_dict(cfg), **to_dict(model_cfg)},
                     header="ganstyle translate-train config (resolved); reuse with: "
                            "ganstyle translate-train --config config.toml --out NEW_RUN")
    try:
        if trainer.step >= cfg.steps:
            return run.path
        return trainer.train(progress=progress)
    finally:
        run.close()
