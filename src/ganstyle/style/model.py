"""A trained style model directory: the settings it was trained with, and loading it.

``train-style`` writes the directory (see ``ganstyle.style.train``); ``stylize`` loads it
through the method that trained it (``NetworkMethod.load``), which builds the network
(and its frozen encoder, if any) from the recorded :class:`StyleTrainConfig`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganstyle.config import field, from_dict, read_config_file
from ganstyle.errors import GanstyleError
from ganstyle.io.checkpoints import latest_checkpoint, load_checkpoint, sub_state_dict
from ganstyle.style.backbones import BACKBONE_CHOICES, POOLINGS
from ganstyle.torch_utils import PRECISIONS


@dataclass
class StyleTrainConfig:
    method: str = field("fast", help="trainable style method (see 'ganstyle train-style --help' for the list)")
    out: str = field("runs/style_model", help="model directory to create (or resume with --resume)")
    style: str = field("", help="style image (fast)")
    content_dir: str = field("", help="folder of content photos to train on (random crops)")
    style_dir: str = field("", help="folder of style images (adain)")
    backbone: str = field("auto", help="feature network for the losses: vgg19, vgg16, vgg19-caffe (need weights), random, or auto (vgg19 if its "
                          "weights are available locally, else random)", choices=BACKBONE_CHOICES)
    weights: str | None = field(None, help="local VGG-19 weights file (torchvision vgg19-dcbb9e9d.pth)")
    pooling: str = field("max", help="backbone pooling", choices=POOLINGS)
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
    precision: str = field("auto", help="auto = bf16 autocast where the hardware runs it natively, else fp32",
                           choices=PRECISIONS)
    channels_last: bool = field(False, help="channels-last memory format (faster on GPUs)")
    log_every: int = field(10, help="steps between loss rows in metrics.csv")
    sample_every: int = field(500, help="steps between preview images (0: only at the end)")
    ckpt_every: int = field(500, help="steps between checkpoints (0: only at the end)")
    keep_checkpoints: int = field(3, help="newest checkpoints kept (0: all)")
    tensorboard: bool = field(False, help="also write TensorBoard event files to RUN/tensorboard "
                              "(needs ganstyle[tensorboard])")
    max_images: int = field(0, help="use at most this many images per folder (0: all)")
    backbone_fingerprint: str = field("", help="set by training: checksum of the backbone's weights, "
                                      "checked when the model is loaded")


@dataclass
class StyleModel:
    """A trained model directory, loaded: ``net`` is the trained network (fast: the transformation
    network, adain: the decoder); ``encoder`` the frozen network in front of it, if any."""

    config: StyleTrainConfig
    net: nn.Module
    encoder: nn.Module | None
    step: int
    path: Path


def backbone_fingerprint(backbone: nn.Module) -> str:
    """SHA-256 over the backbone's parameters and buffers: the same backbone gives the same string."""
    h = hashlib.sha256()
    for name, t in sorted(list(backbone.state_dict().items())):
        h.update(name.encode())
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def model_file(model_dir: Path) -> Path:
    """The weights a model directory serves: final.*, else its newest checkpoint."""
    if (model_dir / "final.json").exists():
        return model_dir / "final"
    stem = latest_checkpoint(model_dir / "checkpoints")
    if stem is None:
        raise GanstyleError(f"{model_dir}: no trained weights (neither final.json nor checkpoints/step_*.json); "
                            "train one with 'ganstyle train-style'")
    return stem


def upgrade_config(data: dict) -> dict:
    """A config.toml written by an earlier release, in today's field names (``checkpoint_every``
    is now ``ckpt_every``; ``resume`` is no longer a setting but how the command is run)."""
    data = dict(data)
    data.pop("resume", None)
    if "checkpoint_every" in data:
        data.setdefault("ckpt_every", data.pop("checkpoint_every"))
    return data


def read_model_config(model_dir: str | Path) -> StyleTrainConfig:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise GanstyleError(f"{model_dir}: model directory not found (train one with 'ganstyle train-style --out DIR')")
    path = model_dir / "config.toml"
    if not path.is_file():
        raise GanstyleError(f"{model_dir}: not a style model directory (no config.toml); "
                            "pass the --out folder of 'ganstyle train-style'")
    return from_dict(StyleTrainConfig, upgrade_config(read_config_file(path)), source=str(path))


_MODEL_CACHE: dict[tuple, StyleModel] = {}


def load_style_model(model_dir: str | Path, method: Any, *, device: torch.device | str = "cpu") -> StyleModel:
    """Load a model directory trained by ``method`` (a ``methods.base.NetworkMethod``, whose
    ``load_encoder`` and ``build_net`` rebuild the networks), cached per file version and device.
    This module does not import the methods, so that they can import it."""
    model_dir = Path(model_dir)
    cfg = read_model_config(model_dir)
    if cfg.method != method.name:
        raise GanstyleError(f"{model_dir}: is a --method {cfg.method} model, not {method.name}; "
                            f"use --method {cfg.method}")
    stem = model_file(model_dir)
    device = torch.device(device)
    json_path = stem.with_suffix(".json")
    key = (str(json_path.resolve()), json_path.stat().st_mtime_ns, str(device))
    if key in _MODEL_CACHE:
        return _MODEL_CACHE[key]
    tensors, state = load_checkpoint(stem)
    encoder = method.load_encoder(cfg, device)
    if encoder is not None and cfg.backbone_fingerprint and backbone_fingerprint(encoder) != cfg.backbone_fingerprint:
        raise GanstyleError(
            f"{model_dir}: was trained with a different {cfg.backbone} backbone than the one found now "
            f"(fingerprint {cfg.backbone_fingerprint}); pass the same --weights file it was trained with")
    net = method.build_net(cfg, encoder)
    try:
        net.load_state_dict(sub_state_dict(tensors, "net"))
    except RuntimeError as exc:
        raise GanstyleError(f"{stem}.safetensors: weights do not match config.toml ({str(exc).splitlines()[0]})") from None
    net.to(device).eval().requires_grad_(False)
    model = StyleModel(cfg, net, encoder, int(state.get("step", 0)), model_dir)
    _MODEL_CACHE.clear()  # one model at a time: they can be large
    _MODEL_CACHE[key] = model
    return model
