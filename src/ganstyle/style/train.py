"""Training for the feed-forward style methods: ``fast`` (one network per style) and ``adain``
(one decoder for every style), with the same run directory, checkpoints and resume.

A model directory holds::

    config.toml                  the resolved StyleTrainConfig (backbone, its fingerprint, seed...)
    checkpoints/step_XXXXXXXX.*  safetensors + JSON: weights, optimizer, every RNG state
    final.safetensors / .json    the trained network (what inference loads)
    samples/step_XXXXXXXX.png    previews: content | style | result
    metrics.csv, losses.png      the loss curves

The directory is a ``ganstyle.io.rundir.RunDir``, as for GAN training: ``train_style(resume=RUN)``
(``ganstyle train-style --resume RUN``) continues from the newest checkpoint that verifies,
with the exact optimizer, data-sampling and RNG state, so N steps + resume + N steps equal 2N
steps in one go; metrics go to metrics.csv and metrics.jsonl; SIGINT/SIGTERM checkpoint and
exit 130/143; a NaN loss stops the run with the last good checkpoint kept.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from ganstyle import distributed
from ganstyle.config import from_dict, to_dict
from ganstyle.errors import GanstyleError
from ganstyle.io.checkpoints import capture_rng_state, restore_rng_state, save_checkpoint, sub_state_dict
from ganstyle.io.images import image_to_array, list_images, open_image, resize_long_side
from ganstyle.io.rundir import RunDir
from ganstyle.style.methods import get_method
from ganstyle.style.methods.base import NetworkMethod
from ganstyle.style.model import StyleTrainConfig, backbone_fingerprint, read_model_config


def resolve_defaults(cfg: StyleTrainConfig) -> StyleTrainConfig:
    """Fill the per-method defaults so config.toml states every value that was used."""
    return get_method(cfg.method, trainable=True).resolve_training(cfg)


def resolve_layers(cfg: StyleTrainConfig, backbone) -> StyleTrainConfig:
    """Default loss layers for the backbone at hand (the random one has only each block's first layer)."""
    method: NetworkMethod = get_method(cfg.method, trainable=True)
    content, style = method.loss_layers(cfg, set(getattr(backbone, "layer_names", ())))
    cfg = dataclasses.replace(cfg, content_layers=list(cfg.content_layers or content),
                              style_layers=list(cfg.style_layers or style))
    check = getattr(backbone, "check_layers", None)
    if check is not None:
        check(cfg.content_layers + cfg.style_layers)
    return cfg


def validate(cfg: StyleTrainConfig) -> None:
    """User errors before any work starts: each names its flag and says what to do."""
    get_method(cfg.method, trainable=True).check_training(cfg)
    if not cfg.content_dir:
        raise GanstyleError("--content-dir: required (a folder of content photos to train on)")
    if cfg.style and not Path(cfg.style).is_file():
        raise GanstyleError(f"--style {cfg.style}: no such file")
    for name, v in (("--steps", cfg.steps), ("--batch-size", cfg.batch_size), ("--image-size", cfg.image_size),
                    ("--style-size", cfg.style_size), ("--width", cfg.width)):
        if v is not None and v < 1:
            raise GanstyleError(f"{name}: must be positive, got {v}")
    if cfg.image_size < 16:
        raise GanstyleError(f"--image-size {cfg.image_size}: use at least 16 px crops")
    if cfg.load_size and cfg.load_size < cfg.image_size:
        raise GanstyleError(f"--load-size {cfg.load_size}: must be at least --image-size {cfg.image_size}")
    if cfg.log_every < 1:
        raise GanstyleError(f"--log-every: must be positive, got {cfg.log_every}")
    for name, v in (("--ckpt-every", cfg.ckpt_every), ("--sample-every", cfg.sample_every),
                    ("--keep-checkpoints", cfg.keep_checkpoints), ("--max-images", cfg.max_images)):
        if v < 0:
            raise GanstyleError(f"{name}: must be 0 or more, got {v}")


# ---------------------------------------------------------------------------- data


class ImageSource:
    """Random square crops (with horizontal flips) from a folder of images.

    Images are resized once so their short side is ``load_size``; a small folder is kept in
    memory as uint8, a large one is read from disk for every batch. All randomness comes
    from the generator passed to :meth:`sample`, so a resumed run draws the same crops.
    """

    MEMORY_BYTES = 2 << 30

    def __init__(self, folder: str | Path, *, crop: int, load_size: int, max_images: int = 0, flag: str = "--content-dir"):
        try:
            files = list_images(folder)
        except GanstyleError as exc:
            raise GanstyleError(f"{flag}: {exc}") from None
        self.files = files[:max_images] if max_images else files
        self.crop, self.load_size = crop, max(load_size, crop)
        est = len(self.files) * 3 * self.load_size * self.load_size * 2  # aspect ratios ~2:1 at worst
        self.cache: list[torch.Tensor] | None = [self._load(p) for p in self.files] if est <= self.MEMORY_BYTES else None

    def __len__(self) -> int:
        return len(self.files)

    def _load(self, path: Path) -> torch.Tensor:
        img = open_image(path)
        w, h = img.size
        scale = self.load_size / min(w, h)
        img = resize_long_side(img, max(self.load_size, round(max(w, h) * scale)))
        arr = image_to_array(img, channels=3, path=path)
        t = torch.from_numpy(arr).permute(2, 0, 1)
        if min(t.shape[-2:]) < self.crop:  # rounding; pad never needed beyond a pixel
            t = torch.nn.functional.interpolate(t[None], size=(max(self.crop, t.shape[1]), max(self.crop, t.shape[2])),
                                                mode="bilinear", align_corners=False)[0]
        return (t * 255 + 0.5).clamp(0, 255).to(torch.uint8)

    def image(self, i: int) -> torch.Tensor:
        return self.cache[i] if self.cache is not None else self._load(self.files[i])

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        out = torch.empty(n, 3, self.crop, self.crop)
        idx = torch.randint(len(self.files), (n,), generator=gen).tolist()
        for k, i in enumerate(idx):
            img = self.image(i)
            h, w = img.shape[-2:]
            y = int(torch.randint(h - self.crop + 1, (1,), generator=gen))
            x = int(torch.randint(w - self.crop + 1, (1,), generator=gen))
            flip = bool(torch.randint(2, (1,), generator=gen))
            crop = img[:, y:y + self.crop, x:x + self.crop].float() / 255
            out[k] = crop.flip(-1) if flip else crop
        return out

    def center(self, n: int) -> torch.Tensor:
        """Deterministic centre crops of the first ``n`` images (for previews)."""
        out = []
        for i in range(min(n, len(self.files))):
            img = self.image(i)
            h, w = img.shape[-2:]
            y, x = (h - self.crop) // 2, (w - self.crop) // 2
            out.append(img[:, y:y + self.crop, x:x + self.crop].float() / 255)
        return torch.stack(out)


# ---------------------------------------------------------------------------- training loop


def _lr(cfg: StyleTrainConfig, step: int) -> float:
    return cfg.lr / (1.0 + cfg.lr_decay * step)


def train_style(config: StyleTrainConfig | Mapping[str, Any] | None = None, *, resume: str | Path | None = None,
                backbone: nn.Module | Callable | None = None, progress: bool = True, **overrides) -> Path:
    """Train a feed-forward style model (``config.method``: fast, adain, ...); returns the model directory.

    A new run goes to ``config.out``; ``resume`` continues the run directory given, from its
    newest checkpoint that verifies (``config`` defaults to the run's own; ``overrides`` such as
    ``steps=`` apply on top). ``backbone`` injects a feature extractor
    ``f(images, layers) -> {layer: features}`` instead of building ``config.backbone``.
    SIGINT/SIGTERM checkpoint the current step and exit 130/143 with the resume command; a
    NaN/Inf loss stops the run, keeping the last good checkpoint.
    """
    from ganstyle.torch_utils import resolve_device, resolve_precision

    if resume is not None:
        if not Path(resume).is_dir():
            raise GanstyleError(f"--resume {resume}: no such run directory")
        overrides["out"] = str(resume)
    if config is None:
        config = read_model_config(resume) if resume is not None else StyleTrainConfig()
    elif isinstance(config, Mapping):
        config = from_dict(StyleTrainConfig, dict(config))
    config = dataclasses.replace(config, **overrides)
    cfg = resolve_defaults(config)
    validate(cfg)
    dist = distributed.setup(resolve_device(cfg.device))  # a world of one unless launched by torchrun
    run = RunDir.open(cfg.out, resume=resume is not None, command="ganstyle train-style",
                      keep_checkpoints=cfg.keep_checkpoints, is_main=dist.is_main)
    try:
        if cfg.tensorboard:
            run.enable_tensorboard()
        # The concrete precision is per machine; config.toml keeps the request (e.g. auto).
        precision = resolve_precision(cfg.precision, dist.device, warn=lambda m: print(m, file=sys.stderr))
        trainer = _StyleTrainer(cfg, dist, run, precision, backbone, resuming=resume is not None,
                                announce=progress and dist.is_main)
        if cfg.precision == "auto" and progress and dist.is_main:  # said once the inputs have been checked
            print(f"precision: auto -> {precision} on {dist.device.type}", file=sys.stderr)
        if resume is not None:
            loaded = run.load_latest(require=("step", "rng", "optimizer"))
            if loaded is None:
                raise GanstyleError(f"--resume {run.path}: no checkpoint found in {run.checkpoints}")
            trainer.load(*loaded[:2])
            run.truncate_logs(trainer.step)
        run.write_config(trainer.cfg, header=f"ganstyle train-style --method {cfg.method}: resolved settings")
        trainer.train(progress)
    finally:
        run.close()
    return run.path


class _StyleTrainer:
    """The state of one training run (data, backbone, network, optimiser) and its loop."""

    def __init__(self, cfg: StyleTrainConfig, dist, run: RunDir, precision: str, backbone, *, resuming: bool,
                 announce: bool):
        from ganstyle.style.backbones import build_backbone
        from ganstyle.torch_utils import seed_everything

        self.dist, self.run, self.device = dist, run, dist.device
        method: NetworkMethod = get_method(cfg.method, trainable=True)
        dist.local_batch(cfg.batch_size)  # --batch-size is global; it must split over the processes
        self.gen = seed_everything(cfg.seed)
        self.content = ImageSource(cfg.content_dir, crop=cfg.image_size, load_size=cfg.load_size,
                                   max_images=cfg.max_images)
        self.styles = None
        if method.style_folder:
            self.styles = ImageSource(cfg.style_dir, crop=cfg.image_size, load_size=cfg.load_size,
                                      max_images=cfg.max_images, flag="--style-dir")
        if backbone is None:
            with dist.main_first():  # rank 0 fetches the weights, the others then read its cache
                backbone = build_backbone(cfg.backbone, cfg.weights, pooling=cfg.pooling, seed=cfg.seed,
                                          device=self.device, announce=announce)
            cfg.backbone = getattr(backbone, "name", cfg.backbone)
        if isinstance(backbone, nn.Module):
            backbone.to(self.device).eval().requires_grad_(False)
            fingerprint = backbone_fingerprint(backbone)
            if resuming and cfg.backbone_fingerprint and fingerprint != cfg.backbone_fingerprint:
                raise GanstyleError(f"--resume {cfg.out}: the run was trained with another backbone "
                                    f"({cfg.backbone_fingerprint}); resume with the same --backbone/--weights")
            cfg.backbone_fingerprint = fingerprint
        self.cfg = cfg = resolve_layers(cfg, backbone)
        self.objective = method.objective(dataclasses.replace(cfg, precision=precision), backbone, self.device)
        self.net = self.objective.net.to(self.device)
        if cfg.channels_last:
            self.net.to(memory_format=torch.channels_last)
        self.train_net = dist.wrap(self.net)  # DDP under torchrun; saving and previews use the plain net
        dist.seed_private_rngs(cfg.seed)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        # fp16 gradients underflow without loss scaling; bf16 has fp32's range and needs none.
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=precision == "fp16")
        self.step = 0
        self.preview_content = self.content.center(4).to(self.device)
        self.preview_style = None
        if self.styles is not None:  # pair every preview content image with a style, cycling the styles
            some = self.styles.center(4)
            self.preview_style = some[torch.arange(len(self.preview_content)) % len(some)].to(self.device)

    def load(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        self.net.load_state_dict(sub_state_dict(tensors, "net"))
        self.opt.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        restore_rng_state(state["rng"], {"data": self.gen})
        self.step = int(state["step"])
        self.dist.seed_private_rngs(self.cfg.seed, self.step)  # the checkpoint holds rank 0's generators

    def state(self, resumable: bool = True) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        state: dict[str, Any] = {"step": self.step, "method": self.cfg.method, "config": to_dict(self.cfg)}
        if resumable:
            state.update(optimizer=self.opt.state_dict(), rng=capture_rng_state({"data": self.gen}),
                         scaler=self.scaler.state_dict() if self.scaler.is_enabled() else {})
        return {f"net.{k}": v for k, v in self.net.state_dict().items()}, state

    def sample(self) -> None:
        self.net.eval()
        with torch.no_grad():
            grid = self.objective.preview(self.preview_content, self.preview_style)
        self.run.save_images(self.step, grid * 2 - 1, nrow=grid.shape[0] // len(self.preview_content))
        self.net.train()

    def train_step(self) -> dict[str, torch.Tensor]:
        cfg, dist, device = self.cfg, self.dist, self.device
        for group in self.opt.param_groups:
            group["lr"] = _lr(cfg, self.step)
        # Every rank draws the global batch's crops from the shared stream and keeps its slice.
        c = distributed.pin_to_device(dist.shard(self.content.sample(cfg.batch_size, self.gen)), device)
        s = None
        if self.styles is not None:
            s = distributed.pin_to_device(dist.shard(self.styles.sample(cfg.batch_size, self.gen)), device)
        if cfg.channels_last:
            c = c.contiguous(memory_format=torch.channels_last)
        with distributed.swapped(self.objective, "net", self.train_net):
            losses = self.objective.losses(c, s)
        # Checked before the update, so the weights (and any later checkpoint) stay finite.
        self.run.check_finite({"total": float(losses["total"].detach())}, self.step + 1,
                              hint="lower --lr or the loss weights")
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(losses["total"]).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        self.step += 1
        return losses

    def log(self, losses: dict[str, torch.Tensor], seconds: float, steps: int, progress: bool) -> None:
        logged = {k: v.detach().float().clone() for k, v in losses.items()}
        self.dist.mean_(list(logged.values()))  # the global batch's losses, as one process would log them
        self.run.log({"step": self.step, **{k: float(v) for k, v in logged.items()}, "lr": _lr(self.cfg, self.step - 1),
                      "sec_per_step": seconds / max(steps, 1)})
        if progress and self.dist.is_main:
            print(f"step {self.step}/{self.cfg.steps}  " + "  ".join(f"{k} {float(v):.4g}" for k, v in logged.items()),
                  file=sys.stderr)

    def train(self, progress: bool) -> None:
        cfg, run = self.cfg, self.run
        t0, last_log = time.perf_counter(), self.step
        self.net.train()
        with run.stop_signals():
            while self.step < cfg.steps:
                losses = self.train_step()
                stopping = self.dist.agree_to_stop(run.stop_requested)  # all ranks stop at the same step
                final = self.step == cfg.steps
                if self.step % cfg.log_every == 0 or final or stopping:
                    self.log(losses, time.perf_counter() - t0, self.step - last_log, progress)
                    t0, last_log = time.perf_counter(), self.step
                if (cfg.ckpt_every and self.step % cfg.ckpt_every == 0) or final or stopping:
                    run.save_checkpoint(self.step, *self.state())
                if (cfg.sample_every and self.step % cfg.sample_every == 0) or final:
                    self.sample()
                if stopping:
                    run.finish_stop(self.step)  # raises RunInterrupted (exit 130/143) after a signal
                    return
        if self.dist.is_main:
            self.net.eval()
            save_checkpoint(run.path / "final", *self.state(resumable=False))
            run.plot_losses(["total", "content", "style", "tv"], title=f"{cfg.method} style training")
