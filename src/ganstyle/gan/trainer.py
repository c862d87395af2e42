"""GAN training: one config dataclass, one trainer, one run directory.

    cfg = TrainConfig(data="digits", image_size=32, model="dcgan", steps=3000, precision="auto")
    run = train_gan(cfg, out="runs/digits")          # ganstyle train --data digits ... --out runs/digits
    run = train_gan(resume="runs/digits", steps=6000)  # continues bit-exactly (CPU)

The run directory holds ``config.toml`` (the resolved config, reusable as ``--config``),
``checkpoints/step_XXXXXXXX.{safetensors,json}`` (weights, EMA, optimizers, every RNG
state and the data sampler position), ``samples/step_XXXXXXXX.png`` (fixed-noise grids,
or scatter plots for 2-D data), ``metrics.csv``/``metrics.jsonl`` and ``losses.png``; the
rules (resume, pruning, signals, NaN guard, evaluation after a checkpoint) are those of
:class:`ganstyle.io.rundir.RunDir`. Settings live in :mod:`ganstyle.gan.config`, batches in
:mod:`ganstyle.gan.batches`.

Extension points: a model family plugs in through :mod:`ganstyle.gan.models`; a loss
through :data:`ganstyle.gan.losses.LOSSES`; a discriminator regulariser is one term in
:meth:`GANTrainer.d_regularizer` with a weight field in :class:`TrainConfig`.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from pathlib import Path

import torch

from ganstyle import distributed
from ganstyle.config import to_dict
from ganstyle.errors import GanstyleError
from ganstyle.gan.augment import DiffAugment
from ganstyle.gan.batches import BatchSampler, load_training_data
from ganstyle.gan.config import TrainConfig, config_file_dict, load_run_config, resolve_defaults, with_absolute_paths
from ganstyle.gan.ema import EMA
from ganstyle.gan.losses import get_loss, gradient_penalty
from ganstyle.gan.models import build_models
from ganstyle.gan.regularizers import lazy_due, zero_centred_penalties
from ganstyle.io.checkpoints import capture_rng_state, load_checkpoint, restore_rng_state, sub_state_dict
from ganstyle.io.rundir import RunDir
from ganstyle.torch_utils import autocast, resolve_device, resolve_precision, seed_everything

# What a checkpoint must hold for training to continue from it.
RESUME_ENTRIES = ("step", "rng", "sampler", "optim_G", "optim_D")

__all__ = ["BatchSampler", "GANTrainer", "TrainConfig", "clamp_batch_to_data", "load_run_config", "load_training_data",
           "train_gan"]


def clamp_batch_to_data(cfg: TrainConfig, n: int, notice=print) -> TrainConfig:
    """A batch larger than the dataset becomes the whole dataset (a multiple of ``--pack``), with a
    one-line notice: small folders then train with the defaults instead of stopping."""
    if cfg.batch_size <= n:
        return cfg
    batch = n - n % cfg.pack
    if batch < 1:
        raise GanstyleError(f"--pack {cfg.pack}: the dataset has only {n} samples")
    if notice:
        notice(f"notice: --batch-size {cfg.batch_size} is larger than the dataset ({n} samples); using {batch}")
    return dataclasses.replace(cfg, batch_size=batch)


class GANTrainer:
    def __init__(self, cfg: TrainConfig, run_dir: str | Path | RunDir, dataset=None):
        given, notices = cfg, []
        self.cfg = cfg = resolve_defaults(cfg, notice=notices.append)  # settings are checked before the data is loaded
        self.dist = distributed.setup(resolve_device(cfg.device))  # a world of one unless launched by torchrun
        if self.dist.is_main and dataset is None:  # the size and channels the data's own images gave
            for line in notices:
                print(line)
        self.device = self.dist.device
        self.run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
        self.run.is_main, self.run.keep_checkpoints = self.dist.is_main, cfg.keep_checkpoints
        if cfg.tensorboard:
            self.run.enable_tensorboard()
        self.run_dir = self.run.path
        # The concrete precision is resolved once per process (hardware-dependent) and kept out of
        # the stored config, so a run resumed on another machine re-detects it.
        self.precision = resolve_precision(cfg.precision, self.device, warn=print if self.dist.is_main else None)
        self.dist.local_batch(cfg.batch_size)  # --batch-size is global; it must split over the processes
        self.loss = get_loss(cfg.loss, cfg.label_smoothing)
        with self.dist.main_first():
            self.dataset = dataset if dataset is not None else load_training_data(cfg)
        ds = self.dataset
        # again, now that the images' size is known: some family defaults (widths) follow it
        self.cfg = cfg = resolve_defaults(given, tuple(ds.shape))
        if cfg.conditional and not ds.num_classes:
            flag = "--conditional" if given.conditional else f"--model {cfg.model}"  # some families are conditional
            raise GanstyleError(f"{flag}: dataset {cfg.data!r} has no labels; class-conditional training needs digits, "
                                "mnist, fashion-mnist, cifar10 or folder:PATH with one sub-folder per class")
        self.num_classes = ds.num_classes if cfg.conditional else None
        self.data_shape = tuple(ds.shape)
        self.is_points = ds.kind == "points"
        self.data_label = cfg.data  # how the data is named in progress and plot titles
        if cfg.precision == "auto":
            if self.is_points:  # bf16 steps 0.008 apart at radius 1: coarser than ring8's 0.01-wide modes
                self.precision = "fp32"
            if self.dist.is_main:
                print(f"precision: auto -> {self.precision} on {self.device.type}")
        self.cfg = cfg = clamp_batch_to_data(cfg, len(ds), notice=print if self.dist.is_main else None)
        self.dist.local_batch(cfg.batch_size)  # again: a clamped batch must split too
        self.eval_metrics = self._check_eval_metrics()  # before step 1: a bad metric must not cost a run

        # Seeds python and numpy too: the checkpoint records their states, so a resumed run must
        # start them from the same place as a straight one (they would differ per process otherwise).
        seed_everything(cfg.seed)  # model init
        G, D = build_models(cfg, self.data_shape, self.num_classes)
        self.G, self.D = G.to(self.device), D.to(self.device)
        self.G_ema = EMA(self.G, cfg.ema_decay, start=cfg.ema_start)
        if cfg.channels_last:
            self.G.to(memory_format=torch.channels_last), self.D.to(memory_format=torch.channels_last)
        if cfg.sync_bn:
            self.G, self.D = self.dist.convert_sync_batchnorm(self.G), self.dist.convert_sync_batchnorm(self.D)
        # Training steps call these (DDP / compiled); saving, EMA and gradient penalties use the plain modules.
        self.G_train, self.D_train = self.dist.wrap(self.G, compile=cfg.compile), self.dist.wrap(self.D, compile=cfg.compile)
        self.dist.seed_private_rngs(cfg.seed)
        self.opt_G = _adam(self.G.parameters(), cfg.g_lr, (cfg.beta1, cfg.beta2), self.device)
        self.opt_D = _adam(self.D.parameters(), cfg.d_lr, (cfg.beta1, cfg.beta2), self.device)
        fp16 = self.precision == "fp16"
        self.scaler_G = torch.amp.GradScaler(self.device.type, enabled=fp16)
        self.scaler_D = torch.amp.GradScaler(self.device.type, enabled=fp16)

        self.x = ds.x.to(self.device)
        self.y = ds.y.to(self.device) if (ds.y is not None and self.num_classes) else None
        self.sampler = BatchSampler(len(ds), cfg.batch_size, cfg.seed, self.device)  # global batches
        self.noise = torch.Generator(self.device).manual_seed(cfg.seed + 1)
        self.augment = DiffAugment(cfg.diffaugment, self.noise)
        self.d_iter = 0  # D updates so far: schedules lazy regularisation
        fixed = torch.Generator().manual_seed(cfg.seed + 2)
        n_fixed = cfg.n_samples * (20 if self.is_points else 1)
        self.fixed_z = torch.randn(n_fixed, G.latent_dim, generator=fixed).to(self.device)
        self.fixed_y = (torch.arange(n_fixed) % self.num_classes).to(self.device) if self.num_classes else None
        self.step = 0
        self._reset_window()

    # ------------------------------------------------------------ one step

    def latents(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This process's slice of ``n`` latents (n is the global batch: see ganstyle.distributed)."""
        z = torch.randn(n, self.G.latent_dim, device=self.device, generator=self.noise)
        y = (torch.randint(self.num_classes, (n,), device=self.device, generator=self.noise)
             if self.num_classes else None)
        return self.dist.shard(z), self.dist.shard(y)

    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = self.dist.shard(self.sampler.next())
        return self.x[idx], (self.y[idx] if self.y is not None else None)

    def d_regularizer(self, real, fake, y_real, real_logits, y_fake=None) -> torch.Tensor | None:
        """Extra discriminator terms, computed in fp32 (double backward under autocast is fragile)."""
        cfg, terms = self.cfg, []
        if cfg.gp_weight:
            alpha = self.dist.shard(torch.rand(cfg.batch_size, device=self.device, generator=self.noise))
            terms.append(cfg.gp_weight * gradient_penalty(self.D, real, fake.float(), y_real, alpha=alpha))
        shared = real_logits if real.requires_grad else None  # fp32: R1 reuses the loss's forward pass
        terms += zero_centred_penalties(self.D, real, fake, y_real, y_fake, r1_gamma=cfg.r1_gamma, r2_gamma=cfg.r2_gamma,
                                        every=cfg.reg_every, d_iter=self.d_iter, real_logits=shared)
        return sum(terms) if terms else None

    def discriminate(self, real, y_real, fake, y_fake) -> tuple[torch.Tensor, torch.Tensor]:
        """D's float32 logits on the real and the generated batch. A discriminator whose output for a sample
        does not depend on the rest of the batch (``per_sample = True``: no batch norm, no minibatch
        statistics) scores both in one pass, which halves the per-call overhead that dominates small models.
        Only in a single process, where the overhead matters: with a joint pass per process, a run split over
        processes stopped matching the single-process run to 1e-6 (a bias gradient that cancels exactly
        changes sign with the summation order, and Adam's first steps amplify that)."""
        if getattr(self.D, "per_sample", False) and not self.dist.enabled:
            y = None if y_real is None else torch.cat([y_real, y_fake])
            logits = self.D_train(torch.cat([real, fake.to(real.dtype)]), y).float()
            return logits[:real.shape[0]], logits[real.shape[0]:]
        return self.D_train(real, y_real).float(), self.D_train(fake, y_fake).float()

    def d_step(self) -> None:
        real, y_real = self.real_batch()
        z, y_fake = self.latents(self.cfg.batch_size)
        with autocast(self.device, self.precision):
            with torch.no_grad():
                fake = self.G_train(z, y_fake)
            if self.augment:  # D (and R1) see augmented images
                real, fake = self.augment(real), self.augment(fake)
        if self.cfg.r1_gamma and self.precision == "fp32" and lazy_due(self.d_iter, self.cfg.reg_every):
            real = real.detach().requires_grad_(True)
        with autocast(self.device, self.precision):
            real_logits, fake_logits = self.discriminate(real, y_real, fake, y_fake)
            loss = self.loss.d_loss(real_logits, fake_logits)
        reg = self.d_regularizer(real, fake, y_real, real_logits, y_fake)
        self.d_iter += 1
        total = loss if reg is None else loss + reg
        self.opt_D.zero_grad(set_to_none=True)
        self.scaler_D.scale(total).backward()
        self.scaler_D.step(self.opt_D)
        self.scaler_D.update()
        w = self.window
        w["d_loss"] += loss.detach()
        w["d_real"] += real_logits.detach().mean()
        w["d_fake"] += fake_logits.detach().mean()
        if reg is not None:
            w["d_reg"] += reg.detach()
        w["d_steps"] += 1

    def g_step(self) -> None:
        z, y = self.latents(self.cfg.batch_size)
        self.D.requires_grad_(False)  # no weight gradients for D in the G update
        with autocast(self.device, self.precision):
            fake = self.G_train(z, y)
            loss = self.loss.g_loss(self.D_train(self.augment(fake) if self.augment else fake, y).float())
        self.opt_G.zero_grad(set_to_none=True)
        self.scaler_G.scale(loss).backward()
        self.scaler_G.step(self.opt_G)
        self.scaler_G.update()
        self.D.requires_grad_(True)
        self.window["g_loss"] += loss.detach()
        self.window["g_steps"] += 1

    def set_learning_rates(self) -> None:
        """Linear decay to 0 over the last ``lr_decay`` of the run; a function of the step, so resumes match."""
        cfg = self.cfg
        start = cfg.steps * (1.0 - cfg.lr_decay)
        scale = 1.0 if self.step < start else max(cfg.steps - self.step, 0) / max(cfg.steps - start, 1e-9)
        for opt, lr in ((self.opt_G, cfg.g_lr), (self.opt_D, cfg.d_lr)):
            for group in opt.param_groups:
                group["lr"] = lr * scale

    # ------------------------------------------------------------ the loop

    def train(self, progress: bool = True) -> Path:
        """Train up to ``cfg.steps``. A stop (signal or ``self.run.request_stop()``) checkpoints first."""
        from tqdm.auto import tqdm

        cfg, run = self.cfg, self.run
        pbar = tqdm(total=cfg.steps, initial=self.step, disable=not (progress and self.dist.is_main), unit="step", dynamic_ncols=True,
                    desc=f"{cfg.model} on {self.data_label}")
        with run.stop_signals():
            while self.step < cfg.steps:
                self.set_learning_rates()
                for _ in range(cfg.n_critic):
                    self.d_step()
                self.g_step()
                self.step += 1
                self.G_ema.update(self.G, self.step)
                pbar.update(1)
                stopping = self.dist.agree_to_stop(run.stop_requested)  # all ranks stop at the same step
                final = self.step == cfg.steps or stopping
                evaluating = not stopping and (_due(self.step, cfg.eval_every) or (final and cfg.eval_every > 0))  # a stop exits fast
                if self.step % cfg.log_every == 0 or final:
                    pbar.set_postfix(self.log(), refresh=False)
                if _due(self.step, cfg.sample_every) or final:
                    self.save_samples()
                if _due(self.step, cfg.ckpt_every) or final or evaluating:  # checkpoint before evaluating
                    self.save()
                if evaluating:
                    self.evaluate()
                if stopping:
                    pbar.close()
                    run.finish_stop(self.step)  # raises RunInterrupted after a signal
                    return self.run_dir
        pbar.close()
        return self.run_dir

    # ------------------------------------------------------------ logging

    def _reset_window(self) -> None:
        zero = lambda: torch.zeros((), device=self.device)  # noqa: E731
        self.window = {"d_loss": zero(), "d_real": zero(), "d_fake": zero(), "d_reg": zero(), "g_loss": zero(),
                       "d_steps": 0, "g_steps": 0}
        self._window_start = time.perf_counter()

    def _check_finite(self) -> dict[str, float]:
        """Turn the window's sums into means (the only host sync) and stop on NaN/Inf."""
        w = self.window
        self.dist.mean_([w[k] for k in ("d_loss", "d_real", "d_fake", "d_reg", "g_loss")])
        d_n, g_n = max(w["d_steps"], 1), max(w["g_steps"], 1)
        vals = {k: w[k].item() / d_n for k in ("d_loss", "d_real", "d_fake", "d_reg")}
        vals["g_loss"] = w["g_loss"].item() / g_n
        self.run.check_finite({k: vals[k] for k in ("d_loss", "g_loss", "d_reg")}, self.step,
                              hint="try lower --g-lr/--d-lr, --precision fp32, or another --loss")
        return vals

    def log(self) -> dict[str, float]:
        vals = self._check_finite()
        seconds = time.perf_counter() - self._window_start
        row = {"step": self.step, "d_loss": vals["d_loss"], "g_loss": vals["g_loss"],
               "d_real": vals["d_real"], "d_fake": vals["d_fake"]}
        if self.cfg.gp_weight or self.cfg.r1_gamma or self.cfg.r2_gamma:
            row["d_reg"] = vals["d_reg"]
        row["img_per_s"] = self.window["g_steps"] * self.cfg.batch_size / max(seconds, 1e-9)
        self.run.log(row)
        self._reset_window()
        return {"d": round(row["d_loss"], 4), "g": round(row["g_loss"], 4), "img/s": round(row["img_per_s"])}

    def generate(self, n: int, seed: int | None = None) -> torch.Tensor:
        from ganstyle.gan.sampling import generate_from

        return generate_from(self.G_ema.model, n, seed=self.cfg.seed if seed is None else seed, device=self.device)

    @torch.no_grad()
    def save_samples(self) -> Path:
        from ganstyle.gan.sampling import save_points_plot

        run = self.run
        if not self.dist.is_main:
            return run.sample_path(self.step)
        G = self.G_ema.model
        out = torch.cat([G(z, y).float().cpu() for z, y in _chunks(self.fixed_z, self.fixed_y, 256)])
        if self.is_points:
            path = run.sample_path(self.step)
            path.parent.mkdir(parents=True, exist_ok=True)
            save_points_plot(out, path, real=self.dataset.x[:out.shape[0]], title=f"step {self.step}")
            run.log_picture(self.step, path)
        else:
            nrow = self.num_classes if self.num_classes and self.num_classes <= 20 else int(math.ceil(math.sqrt(out.shape[0])))
            path = run.save_images(self.step, out, nrow=nrow, upscale=max(1, 64 // out.shape[-1]))  # conditional: a column per class
        run.plot_losses(["d_loss", "g_loss"], title=f"{self.cfg.model} / {self.cfg.loss} on {self.data_label}")
        return path

    def _check_eval_metrics(self) -> list[str]:
        if not self.cfg.eval_every:
            return []
        if not self.cfg.eval_metrics.strip():
            raise GanstyleError("--eval-every needs --eval-metrics, e.g. fid,kid (images) or modes (2-D data)")
        from ganstyle.metrics.evaluate import check_metrics

        return check_metrics(self.cfg.eval_metrics, self.dataset, flag="--eval-metrics")

    def evaluate(self) -> dict[str, float]:
        from ganstyle.metrics.evaluate import evaluate_generator

        cfg = self.cfg
        return self.run.evaluate(
            self.step, lambda: evaluate_generator(self.generate, self.dataset, self.eval_metrics, cfg.eval_n, cfg.seed, self.device),
            title=f"{cfg.model} on {self.data_label}")

    # ------------------------------------------------------------ checkpoints

    def save(self) -> Path:
        self._check_finite()  # never write a checkpoint from diverged weights
        tensors = {}
        for prefix, module in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema.model)):
            tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
        state = {
            "config": to_dict(self.cfg),
            "model": {"name": self.cfg.model, "data_shape": list(self.data_shape), "num_classes": self.num_classes,
                      "latent_dim": self.G.latent_dim},
            "optim_G": self.opt_G.state_dict(), "optim_D": self.opt_D.state_dict(),
            "scaler_G": self.scaler_G.state_dict(), "scaler_D": self.scaler_D.state_dict(),
            "sampler": self.sampler.state_dict(), "d_iter": self.d_iter,
            "rng": capture_rng_state({"noise": self.noise}),
        }
        return self.run.save_checkpoint(self.step, tensors, state)

    def load(self, stem: Path, loaded: tuple | None = None) -> None:
        """Restore a checkpoint (``loaded``: its already-read ``(tensors, state)``)."""
        tensors, state = loaded or load_checkpoint(stem, require=RESUME_ENTRIES)
        try:
            self.G.load_state_dict(sub_state_dict(tensors, "G"))
            self.D.load_state_dict(sub_state_dict(tensors, "D"))
            self.G_ema.load_state_dict(sub_state_dict(tensors, "G_ema"))
            self.opt_G.load_state_dict(state["optim_G"])
            self.opt_D.load_state_dict(state["optim_D"])
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise GanstyleError(f"{stem}: checkpoint does not match the model settings of this run ({str(exc).splitlines()[0]})") from None
        if state.get("scaler_G"):
            self.scaler_G.load_state_dict(state["scaler_G"])
            self.scaler_D.load_state_dict(state["scaler_D"])
        self.sampler.load_state_dict(state["sampler"])
        restore_rng_state(state["rng"], {"noise": self.noise})
        self.step = int(state["step"])
        self.dist.seed_private_rngs(self.cfg.seed, self.step)  # the checkpoint holds rank 0's generators
        self.d_iter = int(state.get("d_iter", self.step * self.cfg.n_critic))
        self._reset_window()


def _adam(params, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    # The fused kernel updates all tensors in one pass: ~10% faster steps for small models.
    fused = device.type in ("cpu", "cuda")
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=fused or None)


def _due(step: int, every: int) -> bool:
    return every > 0 and step % every == 0


def _chunks(z: torch.Tensor, y: torch.Tensor | None, size: int):
    for i in range(0, z.shape[0], size):
        yield z[i:i + size], (y[i:i + size] if y is not None else None)


def train_gan(config: TrainConfig | None = None, *, out: str | Path | None = None, resume: str | Path | None = None,
              progress: bool = True, dataset=None, stop: threading.Event | None = None, **overrides) -> Path:
    """Train a GAN and return its run directory.

    ``out``: a new run directory. ``resume``: an existing run to continue from its newest
    checkpoint (``config`` defaults to the run's own; ``overrides`` such as ``steps=`` apply
    on top). ``dataset`` lets Python callers pass an in-memory :class:`~ganstyle.data.Dataset`.
    ``stop``: an Event another thread (e.g. a web UI) sets to checkpoint and return at the next step.
    """
    run_dir = resume if resume is not None else out
    if run_dir is None:
        raise GanstyleError("--out: give a run directory for the new run (or --resume RUN_DIR)")
    run = RunDir.open(run_dir, resume=resume is not None, command="ganstyle train", stop=stop)
    cfg = config or (load_run_config(run.path) if resume is not None else TrainConfig())
    if overrides:
        cfg = dataclasses.replace(cfg, **overrides)
    cfg, given = with_absolute_paths(cfg)
    trainer = GANTrainer(cfg, run, dataset=dataset)
    trainer.data_label = given.get("data", cfg.data)
    try:
        if resume is not None:
            loaded = run.load_latest(require=RESUME_ENTRIES)
            if loaded is None:
                raise GanstyleError(f"--resume {run.path}: no checkpoint found in {run.checkpoints}")
            tensors, state, stem = loaded
            trainer.load(stem, (tensors, state))
            run.truncate_logs(trainer.step)
        as_given = "".join(f"\n{k} was given as {v!r}" for k, v in given.items())
        run.write_config(config_file_dict(trainer.cfg), header="ganstyle train config (resolved, paths absolute); reuse with: "
                                             "ganstyle train --config config.toml --out NEW_RUN" + as_given)
        if trainer.step >= trainer.cfg.steps:
            return run.path
        return trainer.train(progress=progress)
    finally:
        run.close()
