"""Feature backbones for style transfer, one module each, tied together by ``BACKBONES``.

* ``vgg19`` — torchvision's ImageNet VGG-19 (``vgg19-dcbb9e9d.pth``);
* ``vgg16`` — torchvision's ImageNet VGG-16 (``vgg16-397923af.pth``), Johnson et al.'s loss network;
* ``vgg19-caffe`` — the Caffe VGG-19 of neural-style (``vgg19-d01eb7cb.pth``, BGR 0..255 input);
* ``random`` — seeded random filters, no download.

All share :class:`FeatureBackbone`'s interface (see ``base``). Each VGG is found as
``--weights PATH``, else its environment variable, else the torch hub cache, else downloaded
from its official URL (SHA-256 checked); offline, one line says what to fetch and where.
Adding a backbone = one module with a builder + one ``BACKBONES`` entry.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable

import torch

from ganstyle.errors import GanstyleError
from ganstyle.style.backbones import vgg
from ganstyle.style.backbones.base import IMAGENET_MEAN, IMAGENET_STD, POOLINGS, FeatureBackbone
from ganstyle.style.backbones.random_filters import (RANDOM_LAYOUT, MultiSizeConv, _RANDOM_CACHE,
                                                     calibration_image, random_architecture, random_backbone)
from ganstyle.style.backbones.vgg import torch_hub_checkpoint_dir
from ganstyle.style.backbones.vgg16 import SPEC as VGG16_SPEC, vgg16
from ganstyle.style.backbones.vgg19 import SPEC as VGG19_SPEC, vgg19
from ganstyle.style.backbones.vgg19_caffe import SPEC as VGG19_CAFFE_SPEC, vgg19_caffe


@dataclass(frozen=True)
class Backbone:
    """A registry entry: ``build(weights, pooling=, seed=, device=, download=)`` and, for VGGs, its spec."""

    name: str
    build: Callable[..., FeatureBackbone]
    description: str
    spec: vgg.VGGSpec | None = None


def _vgg_entry(spec: vgg.VGGSpec) -> Backbone:
    def build(weights=None, *, pooling="max", seed=0, device="cpu", download=True) -> FeatureBackbone:
        return vgg.build(spec, weights, pooling=pooling, download_missing=download, device=device)

    return Backbone(spec.name, build, spec.description, spec)


def _random_build(weights=None, *, pooling="max", seed=0, device="cpu", download=True) -> FeatureBackbone:
    # ``weights`` is ignored: the filters are rebuilt from the seed.
    return random_backbone(seed, pooling=pooling, device=device)


BACKBONES: dict[str, Backbone] = {
    "vgg19": _vgg_entry(VGG19_SPEC),
    "vgg16": _vgg_entry(VGG16_SPEC),
    "vgg19-caffe": _vgg_entry(VGG19_CAFFE_SPEC),
    "random": Backbone("random", _random_build, "seeded random filters (no download)"),
}
# What --backbone accepts: every registered backbone, plus auto (vgg19 if on disk, else random).
BACKBONE_CHOICES: tuple[str, ...] = ("auto", *BACKBONES)

# Today's VGG-19 names, kept for callers and configs written before the registry.
VGG19_URL = VGG19_SPEC.url
VGG19_FILENAME = VGG19_SPEC.filename
WEIGHTS_ENV = VGG19_SPEC.env_var
VGG19_FEATURE_INDEX = VGG19_SPEC.feature_index


def vgg19_architecture(pooling: str = "max") -> FeatureBackbone:
    """VGG-19 up to relu5_1 with uninitialised (random) weights: same FLOPs as the real one."""
    return vgg.architecture(VGG19_SPEC, pooling)


def find_vgg19_weights(weights: str | os.PathLike | None = None):
    return vgg.find_weights(VGG19_SPEC, weights)


def load_vgg19_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    return vgg.load_state(VGG19_SPEC, path)


def build_backbone(name: str = "auto", weights: str | os.PathLike | None = None, *, pooling: str = "max",
                   seed: int = 0, device: torch.device | str = "cpu", download: bool = True,
                   announce: bool = True) -> FeatureBackbone:
    """A backbone from ``BACKBONES`` by name, or ``auto``: vgg19 when its weights are available
    locally (``weights``, $GANSTYLE_VGG19_WEIGHTS or the hub cache), else random."""
    if isinstance(name, FeatureBackbone):
        return name.to(device)
    if name not in BACKBONE_CHOICES:
        raise GanstyleError(f"--backbone: {name!r} is not one of {', '.join(BACKBONE_CHOICES)}")
    if pooling not in POOLINGS:
        raise GanstyleError(f"--pooling: {pooling!r} is not one of {', '.join(POOLINGS)}")
    if name == "auto":
        path = find_vgg19_weights(weights)
        if path is not None:
            net = vgg19(path, pooling=pooling, device=device)
            if announce:
                print(f"backbone: vgg19 ({path})", file=sys.stderr)
            return net
        if announce:
            print(f"backbone: random filters (seed {seed}); VGG-19 weights not found locally "
                  f"(put {VGG19_FILENAME} in {torch_hub_checkpoint_dir()} or set {WEIGHTS_ENV})", file=sys.stderr)
        return random_backbone(seed, pooling=pooling, device=device)
    return BACKBONES[name].build(weights, pooling=pooling, seed=seed, device=device, download=download)


__all__ = [
    "BACKBONES", "BACKBONE_CHOICES", "Backbone", "FeatureBackbone", "IMAGENET_MEAN", "IMAGENET_STD", "POOLINGS",
    "RANDOM_LAYOUT", "MultiSizeConv", "VGG19_FEATURE_INDEX", "VGG19_FILENAME", "VGG19_URL", "WEIGHTS_ENV",
    "build_backbone", "calibration_image", "random_architecture", "find_vgg19_weights", "load_vgg19_state", "random_backbone",
    "torch_hub_checkpoint_dir", "vgg16", "vgg19", "vgg19_architecture", "vgg19_caffe", "_RANDOM_CACHE",
]
