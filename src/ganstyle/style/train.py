"""Training for the feed-forward style methods: ``fast`` (one network per style) and ``adain``
(one decoder for every style), with the same run directory, checkpoints and resume.

A model directory holds::

    config.toml                  the resolved StyleTrainConfig (backbone, its fingerprint, seed...)
    checkpoints/step_XXXXXXXX.*  safetensors + JSON: weights, optimizer, every RNG state
    final.safetensors / .json    the trained network (what inference loads)
    samples/step_XXXXXXXX.png    previews: content | style | result
    metrics.csv, losses.png      the loss curves

Resuming (``resume=True``) continues from the newest checkpoint with the exact optimizer,
data-sampling and RNG state, so N steps + resume + N steps equal 2N steps in one go.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from ganstyle import distributed
from ganstyle.config import field, from_dict, read_config_file, to_dict, write_config
from ganstyle.errors import GanstyleError
from ganstyle.io.checkpoints import (capture_rng_state, checkpoint_stem, latest_checkpoint, load_checkpoint,
                                     prune_checkpoints, restore_rng_state, save_checkpoint, sub_state_dict)
from ganstyle.io.images import image_to_array, list_images, open_image, resize_long_side, save_grid
from ganstyle.io.runlog import append_csv, plot_columns, truncate_csv
from ganstyle.style.backbones import BACKBONE_CHOICES, BACKBONES

METHODS = ("fast", "adain")

# Johnson et al.: content at relu2_2, style Grams at relu1_2, relu2_2, relu3_3, relu4_3.
FAST_CONTENT_LAYERS = ["relu2_2"]
FAST_STYLE_LAYERS = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
# The same depths on a backbone that only has each block's first layer (the random one).
FAST_CONTENT_LAYERS_FIRST = ["relu2_1"]
FAST_STYLE_LAYERS_FIRST = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]
# Huang & Belongie: the encoder ends at relu4_1; style statistics at relu1_1 ... relu4_1.
ADAIN_CONTENT_LAYERS = ["relu4_1"]
ADAIN_STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]

# Per-method defaults for the fields left at None; written resolved into config.toml.
METHOD_DEFAULTS: dict[str, dict[str, Any]] = {
    "fast": {"width": 32, "lr": 1e-3, "style_weight": 1e5, "content_weight": 1.0, "tv_weight": 1.0,
             "load_size": 0,
             "batch_size": 4, "steps": 20000, "lr_decay": 0.0},
    "adain": {"width": 64, "lr": 1e-4, "style_weight": 10.0, "content_weight": 1.0, "tv_weight": 0.0,
              "content_layers": ADAIN_CONTENT_LAYERS, "load_size": 0,
              "batch_size": 8, "steps": 160000, "lr_decay": 5e-5},
}


@dataclass
class StyleTrainConfig:
    method: str = field("fast", help="fast: one network per style (Johnson); adain: any style (Huang & Belongie)",
                        choices=METHODS)
    out: str = field("runs/style_model", help="model directory to create (or resume with --resume)")
    style: str = field("", help="style image (fast)")
    content_dir: str = field("", help="folder of content photos to train on (random crops)")
    style_dir: str = field("", help="folder of style images (adain)")
    backbone: str = field("auto", help="feature network for the losses: vgg19, random, or auto (vgg19 if its "
                          "weights are available locally, else random), vgg16, vgg19-caffe", choices=BACKBONE_CHOICES)
    weights: str | None = field(None, help="local VGG-19 weights file (torchvision vgg19-dcbb9e9d.pth)")
    pooling: str = field("max", help="backbone pooling", choices=("max", "avg"))
    seed: int = field(0, help="random seed (network init, crops, the random backbone)")
    steps: int | None = field(None, help="training iterations (fast: 20000, adain: 160000 as in the papers)")
    batch_size: int | None = field(None, help="images per step (fast: 4, adain: 8)")
    image_size: int = field(256, help="side of the square random crops of content (and adain style) images")
    load_size: int | None = field(None, help="short side images are resized to before cropping "
                                  "(0: fast = image size, adain = 2 x image size)")
    style_size: int = field(256, help="fast: long side the style image is resized to")
    width: int | None = field(None, help="network width: fast = first-stage channels (32 in the paper), "
                              "adain = decoder's first-stage channels (64 mirrors VGG)")
    res_blocks: int = field(5, help="fast: residual blocks")
    lr: float | None = field(None, help="Adam learning rate (fast: 1e-3, adain: 1e-4)")
    lr_decay: float | None = field(None, help="lr / (1 + decay * step) (adain: 5e-5, fast: 0)")
    content_weight: float | None = field(None, help="content loss weight (1)")
    style_weight: float | None = field(None, help="style loss weight (fast: 1e5 on size-normalised Grams, adain: 10)")
    tv_weight: float | None = field(None, help="total variation weight (fast: 1, adain: 0)")
    content_layers: list[str] | None = field(None, help="content layers (fast: relu2_2, or relu2_1 on the random "
                                             "backbone; adain: relu4_1, fixed)")
    style_layers: list[str] | None = field(None, help="style layers (fast: relu1_2,relu2_2,relu3_3,relu4_3, or "
                                           "relu1_1,relu2_1,relu3_1,relu4_1 on the random backbone; adain: "
                                           "relu1_1,relu2_1,relu3_1,relu4_1)")
    device: str = field("auto", help="auto, cpu, cuda, cuda:N")
    precision: str = field("fp32", help="fp32, or bf16 autocast (fast on AMX CPUs and recent GPUs)",
                           choices=("fp32", "bf16", "fp16"))
    channels_last: bool = field(False, help="channels-last memory format (faster on GPUs)")
    log_every: int = field(10, help="steps between loss rows in metrics.csv")
    sample_every: int = field(500, help="steps between preview images (0: only at the end)")
    checkpoint_every: int = field(500, help="steps between checkpoints (0: only at the end)")
    keep_checkpoints: int = field(3, help="newest checkpoints kept (0: all)")
    resume: bool = field(False, help="continue the run in --out from its newest checkpoint")
    max_images: int = field(0, help="use at most this many images per folder (0: all)")
    backbone_fingerprint: str = field("", help="set by training: checksum of the backbone's weights, "
                                      "checked when the model is loaded")


def resolve_defaults(cfg: StyleTrainConfig) -> StyleTrainConfig:
    """Fill the per-method defaults so config.toml states every value that was used."""
    if cfg.method not in METHODS:
        raise GanstyleError(f"--method: {cfg.method!r} is not one of {', '.join(METHODS)}")
    values = {k: (v if getattr(cfg, k) is None else getattr(cfg, k)) for k, v in METHOD_DEFAULTS[cfg.method].items()}
    cfg = dataclasses.replace(cfg, **values)
    if cfg.load_size == 0:
        cfg.load_size = cfg.image_size if cfg.method == "fast" else 2 * cfg.image_size
    return cfg


def resolve_layers(cfg: StyleTrainConfig, backbone) -> StyleTrainConfig:
    """Default loss layers for the backbone at hand (the random one has only each block's first layer)."""
    names = set(getattr(backbone, "layer_names", ()))
    if cfg.method == "fast":
        johnson = not names or set(FAST_CONTENT_LAYERS + FAST_STYLE_LAYERS) <= names
        content = FAST_CONTENT_LAYERS if johnson else FAST_CONTENT_LAYERS_FIRST
        style = FAST_STYLE_LAYERS if johnson else FAST_STYLE_LAYERS_FIRST
    else:
        content, style = ADAIN_CONTENT_LAYERS, ADAIN_STYLE_LAYERS
        if cfg.content_layers and list(cfg.content_layers) != ADAIN_CONTENT_LAYERS:
            raise GanstyleError(f"--content-layers: AdaIN's encoder ends at {ADAIN_CONTENT_LAYERS[0]}; "
                                "leave --content-layers unset")
    cfg = dataclasses.replace(cfg, content_layers=list(cfg.content_layers or content),
                              style_layers=list(cfg.style_layers or style))
    check = getattr(backbone, "check_layers", None)
    if check is not None:
        check(cfg.content_layers + cfg.style_layers)
    return cfg


def validate(cfg: StyleTrainConfig) -> None:
    """User errors before any work starts: each names its flag and says what to do."""
    if cfg.method == "fast" and not cfg.style:
        raise GanstyleError("--style: required for --method fast (the style image the network learns)")
    if cfg.method == "adain" and not cfg.style_dir:
        raise GanstyleError("--style-dir: required for --method adain (a folder of style images)")
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


# ---------------------------------------------------------------------------- backbone


def backbone_fingerprint(backbone: nn.Module) -> str:
    """SHA-256 over the backbone's parameters and buffers: the same backbone gives the same string."""
    h = hashlib.sha256()
    for name, t in sorted(list(backbone.state_dict().items())):
        h.update(name.encode())
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def build_training_backbone(cfg: StyleTrainConfig, device: torch.device, announce: bool = True):
    from ganstyle.style.backbones import build_backbone

    return build_backbone(cfg.backbone, cfg.weights, pooling=cfg.pooling, seed=cfg.seed, device=device,
                          announce=announce)


def resolved_backbone_name(backbone: nn.Module, requested: str) -> str:
    name = getattr(backbone, "name", requested)
    return name if name in BACKBONES else requested


# ---------------------------------------------------------------------------- loading a model


@dataclass
class StyleModel:
    """A trained model directory, loaded: ``net`` is the transformation network (fast) or the
    decoder (adain); ``encoder`` the frozen backbone (adain only)."""

    config: StyleTrainConfig
    net: nn.Module
    encoder: nn.Module | None
    step: int
    path: Path


_MODEL_CACHE: dict[tuple, StyleModel] = {}


def _model_file(model_dir: Path) -> Path:
    if (model_dir / "final.json").exists():
        return model_dir / "final"
    stem = latest_checkpoint(model_dir / "checkpoints")
    if stem is None:
        raise GanstyleError(f"{model_dir}: no trained weights (neither final.json nor checkpoints/step_*.json); "
                            "train one with 'ganstyle train-style'")
    return stem


def read_model_config(model_dir: str | Path) -> StyleTrainConfig:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise GanstyleError(f"{model_dir}: model directory not found (train one with 'ganstyle train-style --out DIR')")
    path = model_dir / "config.toml"
    if not path.is_file():
        raise GanstyleError(f"{model_dir}: not a style model directory (no config.toml); "
                            "pass the --out folder of 'ganstyle train-style'")
    return from_dict(StyleTrainConfig, read_config_file(path), source=str(path))


def build_net(cfg: StyleTrainConfig, encoder_channels: int | None = None) -> nn.Module:
    if cfg.method == "fast":
        from ganstyle.style.fast import TransformNet

        return TransformNet(cfg.width, cfg.res_blocks)
    from ganstyle.style.adain import Decoder

    return Decoder(encoder_channels, cfg.width)


def load_style_model(model_dir: str | Path, *, device: torch.device | str = "cpu", expect: str | None = None,
                     announce: bool = False) -> StyleModel:
    """Load a model directory (cached per file version and device)."""
    model_dir = Path(model_dir)
    cfg = read_model_config(model_dir)
    if expect and cfg.method != expect:
        raise GanstyleError(f"{model_dir}: is a --method {cfg.method} model, not {expect}; "
                            f"use --method {cfg.method}")
    stem = _model_file(model_dir)
    device = torch.device(device)
    json_path = stem.with_suffix(".json")
    key = (str(json_path.resolve()), json_path.stat().st_mtime_ns, str(device))
    if key in _MODEL_CACHE:
        return _MODEL_CACHE[key]
    tensors, state = load_checkpoint(stem)
    encoder = None
    enc_channels = None
    if cfg.method == "adain":
        from ganstyle.style.adain import build_encoder

        encoder = build_encoder(cfg, device, announce=announce)
        if cfg.backbone_fingerprint and backbone_fingerprint(encoder) != cfg.backbone_fingerprint:
            raise GanstyleError(
                f"{model_dir}: was trained with a different {cfg.backbone} backbone than the one found now "
                f"(fingerprint {cfg.backbone_fingerprint}); pass the same --weights file it was trained with")
        enc_channels = encoder.channels[ADAIN_CONTENT_LAYERS[0]]
    net = build_net(cfg, enc_channels)
    weights = sub_state_dict(tensors, "net")
    try:
        net.load_state_dict(weights)
    except RuntimeError as exc:
        raise GanstyleError(f"{stem}.safetensors: weights do not match config.toml ({str(exc).splitlines()[0]})") from None
    net.to(device).eval().requires_grad_(False)
    model = StyleModel(cfg, net, encoder, int(state.get("step", 0)), model_dir)
    _MODEL_CACHE.clear()  # one model at a time: they can be large
    _MODEL_CACHE[key] = model
    return model


# ---------------------------------------------------------------------------- training loop


class Method:
    """What the loop needs from fast / adain: the trainable network, one step's losses, previews."""

    net: nn.Module

    def losses(self, content: torch.Tensor, style: torch.Tensor | None) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def preview(self, content: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError


def _lr(cfg: StyleTrainConfig, step: int) -> float:
    return cfg.lr / (1.0 + cfg.lr_decay * step)


def train_style(config: StyleTrainConfig | Mapping[str, Any] | None = None, *,
                backbone: nn.Module | Callable | None = None, progress: bool = True, **overrides) -> Path:
    """Train a fast (per-style) or AdaIN (arbitrary style) model; returns the model directory.

    ``backbone`` injects a feature extractor ``f(images, layers) -> {layer: features}`` instead
    of building ``config.backbone`` (tests, custom networks).
    """
    from ganstyle.torch_utils import check_precision, resolve_device, seed_everything

    if config is None:
        config = StyleTrainConfig()
    elif isinstance(config, Mapping):
        config = from_dict(StyleTrainConfig, dict(config))
    if overrides:
        config = dataclasses.replace(config, **overrides)
    cfg = resolve_defaults(config)
    validate(cfg)
    dist = distributed.setup(resolve_device(cfg.device))  # a world of one unless launched by torchrun
    device = dist.device
    check_precision(cfg.precision, device)
    dist.local_batch(cfg.batch_size)  # --batch-size is global; it must split over the processes
    out = Path(cfg.out)
    ckpt_dir = out / "checkpoints"
    resume_stem = latest_checkpoint(ckpt_dir) if cfg.resume else None
    if not cfg.resume and (list(ckpt_dir.glob("step_*.json")) or (out / "final.json").exists()):
        raise GanstyleError(f"--out {out}: already holds a trained model; pass --resume to continue it "
                            "or choose another --out")

    gen = seed_everything(cfg.seed)
    content = ImageSource(cfg.content_dir, crop=cfg.image_size, load_size=cfg.load_size, max_images=cfg.max_images)
    styles = None
    if cfg.method == "adain":
        styles = ImageSource(cfg.style_dir, crop=cfg.image_size, load_size=cfg.load_size,
                             max_images=cfg.max_images, flag="--style-dir")
    if backbone is None:
        with dist.main_first():  # rank 0 fetches the weights, the others then read its cache
            backbone = build_training_backbone(cfg, device, announce=progress and dist.is_main)
        cfg.backbone = resolved_backbone_name(backbone, cfg.backbone)
    if isinstance(backbone, nn.Module):
        backbone.to(device).eval().requires_grad_(False)
        fingerprint = backbone_fingerprint(backbone)
        if resume_stem is not None and cfg.backbone_fingerprint and fingerprint != cfg.backbone_fingerprint:
            raise GanstyleError(f"--out {out}: the run was trained with another backbone "
                                f"({cfg.backbone_fingerprint}); resume with the same --backbone/--weights")
        cfg.backbone_fingerprint = fingerprint
    cfg = resolve_layers(cfg, backbone)

    if cfg.method == "fast":
        from ganstyle.style.fast import FastMethod

        method: Method = FastMethod(cfg, backbone, device)
    else:
        from ganstyle.style.adain import AdaINMethod

        method = AdaINMethod(cfg, backbone, device)
    net = method.net.to(device)
    if cfg.channels_last:
        net.to(memory_format=torch.channels_last)
    train_net = dist.wrap(net)  # DDP under torchrun; saving and previews use the plain net
    dist.seed_private_rngs(cfg.seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    # fp16 gradients underflow without loss scaling; bf16 has fp32's range and needs none.
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.precision == "fp16")
    start = 0
    if resume_stem is not None:
        tensors, state = load_checkpoint(resume_stem)
        net.load_state_dict(sub_state_dict(tensors, "net"))
        opt.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        restore_rng_state(state["rng"], {"data": gen})
        start = int(state["step"])
        dist.seed_private_rngs(cfg.seed, start)  # the checkpoint holds rank 0's generators
        if dist.is_main:
            truncate_csv(out / "metrics.csv", start)
    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_config(out / "config.toml", cfg, header=f"ganstyle train-style --method {cfg.method}: resolved settings")

    preview_content = content.center(4).to(device)
    preview_style = None
    if styles is not None:  # pair every preview content image with a style, cycling the styles
        some = styles.center(4)
        preview_style = some[torch.arange(len(preview_content)) % len(some)].to(device)

    def save(step: int, stem: Path, resumable: bool = True) -> None:
        state: dict[str, Any] = {"step": step, "method": cfg.method, "config": to_dict(cfg)}
        if resumable:
            state.update(optimizer=opt.state_dict(), rng=capture_rng_state({"data": gen}),
                         scaler=scaler.state_dict() if scaler.is_enabled() else {})
        save_checkpoint(stem, {f"net.{k}": v for k, v in net.state_dict().items()}, state)

    def sample(step: int) -> None:
        with torch.no_grad():
            grid = method.preview(preview_content, preview_style)
        save_grid(grid, out / "samples" / f"step_{step:08d}.png", nrow=grid.shape[0] // len(preview_content),
                  value_range=(0, 1))

    rows: list[dict[str, Any]] = []
    t0, last_log = time.perf_counter(), start
    net.train()
    for step in range(start + 1, cfg.steps + 1):
        for group in opt.param_groups:
            group["lr"] = _lr(cfg, step - 1)
        # Every rank draws the global batch's crops from the shared stream and keeps its slice.
        c = distributed.pin_to_device(dist.shard(content.sample(cfg.batch_size, gen)), device)
        s = distributed.pin_to_device(dist.shard(styles.sample(cfg.batch_size, gen)), device) if styles is not None else None
        if cfg.channels_last:
            c = c.contiguous(memory_format=torch.channels_last)
        with distributed.swapped(method, "net", train_net):
            losses = method.losses(c, s)
        loss = losses["total"]
        if not torch.isfinite(loss):
            raise GanstyleError(f"training diverged at step {step} (loss {float(loss)}); lower --lr or the loss weights")
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        if step % cfg.log_every == 0 or step == cfg.steps:
            logged = {k: v.detach().float().clone() for k, v in losses.items()}
            dist.mean_(list(logged.values()))  # the global batch's losses, as one process would log them
            now = time.perf_counter()
            row = {"step": step, **{k: float(v) for k, v in logged.items()}, "lr": _lr(cfg, step - 1),
                   "sec_per_step": (now - t0) / max(step - last_log, 1)}
            t0, last_log = now, step
            rows.append(row)
            if progress and dist.is_main:
                print(f"step {step}/{cfg.steps}  " + "  ".join(f"{k} {float(v):.4g}" for k, v in logged.items()),
                      file=sys.stderr)
        if not dist.is_main:
            continue
        if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step != cfg.steps:
            append_csv(out / "metrics.csv", rows)
            rows = []
            save(step, checkpoint_stem(ckpt_dir, step))
            prune_checkpoints(ckpt_dir, cfg.keep_checkpoints)
        if cfg.sample_every and step % cfg.sample_every == 0 and step != cfg.steps:
            net.eval()
            sample(step)
            net.train()
    if not dist.is_main:
        return out
    append_csv(out / "metrics.csv", rows)
    net.eval()
    save(cfg.steps, checkpoint_stem(ckpt_dir, cfg.steps))
    prune_checkpoints(ckpt_dir, cfg.keep_checkpoints)
    save(cfg.steps, out / "final", resumable=False)
    sample(cfg.steps)
    plot_columns(out / "metrics.csv", out / "losses.png",
                 [k for k in ("total", "content", "style", "tv") if k], logy=True,
                 title=f"{cfg.method} style training")
    return out
