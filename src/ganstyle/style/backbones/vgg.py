"""What every VGG backbone shares: the layer stack, the weights lookup, download and loader.

A :class:`VGGSpec` says which file to use (official URL, hub file name, environment variable),
how many convolutions there are per block and what input the weights expect. Only the
convolutions up to ``last`` (relu5_1 by default) are read, so the classifier's hundreds of
megabytes are never kept in memory. Keys follow torchvision's ``features.N.weight/bias``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from ganstyle.errors import GanstyleError
from ganstyle.io.weights import find_local_weights
from ganstyle.style.backbones.base import IMAGENET_MEAN, IMAGENET_STD, FeatureBackbone, Relu, make_pool


@dataclass(frozen=True)
class VGGSpec:
    name: str                      # registry key, e.g. "vgg16"
    title: str                     # how messages name it, e.g. "VGG-16"
    url: str                       # official download
    filename: str                  # hub file name; the part after '-' is the SHA-256 prefix
    env_var: str                   # environment variable naming a local file
    blocks: tuple[int, ...]        # convolutions per block (VGG-16: 2, 2, 3, 3, 3)
    last: str = "conv5_1"          # deepest convolution kept
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    bgr: bool = False
    description: str = ""

    @property
    def convs(self) -> list[tuple[str, int, int]]:
        """(conv name, in channels, out channels) up to ``last``, in order."""
        widths = (64, 128, 256, 512, 512)
        out, cin = [], 3
        for block, n in enumerate(self.blocks, start=1):
            for i in range(1, n + 1):
                out.append((f"conv{block}_{i}", cin, widths[block - 1]))
                cin = widths[block - 1]
                if out[-1][0] == self.last:
                    return out
        return out

    @property
    def feature_index(self) -> dict[str, int]:
        """conv name -> index in torchvision's ``features`` Sequential (conv, relu, ..., pool)."""
        index, out, block_prev = 0, {}, 1
        for name, _, _ in self.convs:
            block = int(name[4])
            if block != block_prev:
                index += 1  # the pooling layer between blocks
                block_prev = block
            out[name] = index
            index += 2  # conv + relu
        return out

    @property
    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        idx = self.feature_index
        shapes: dict[str, tuple[int, ...]] = {}
        for name, cin, cout in self.convs:
            shapes[f"features.{idx[name]}.weight"] = (cout, cin, 3, 3)
            shapes[f"features.{idx[name]}.bias"] = (cout,)
        return shapes


def architecture(spec: VGGSpec, pooling: str = "max") -> FeatureBackbone:
    """The spec's layer stack with uninitialised (random) weights: same FLOPs as the real one."""
    layers: list[tuple[str, nn.Module]] = []
    block_prev = 1
    for name, cin, cout in spec.convs:
        block = int(name[4])
        if block != block_prev:
            layers.append((f"pool{block_prev}", make_pool(pooling)))
            block_prev = block
        layers.append((name, nn.Conv2d(cin, cout, 3, padding=1)))
        layers.append(("relu" + name[4:], Relu(cout)))
    return FeatureBackbone(spec.name, layers, mean=spec.mean, std=spec.std, bgr=spec.bgr, pooling=pooling,
                           source="architecture only (random init)")


def torch_hub_checkpoint_dir() -> Path:
    """Where torch.hub caches checkpoints: $TORCH_HOME/hub/checkpoints (default ~/.cache/torch)."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        torch_home = os.path.join(xdg, "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def offline_message(spec: VGGSpec) -> str:
    cache_file = torch_hub_checkpoint_dir() / spec.filename
    return (f"{spec.title} weights not found: download {spec.url} to {cache_file} "
            f"(or pass --weights PATH / set {spec.env_var}), or use --backbone random")


def find_weights(spec: VGGSpec, weights: str | os.PathLike | None = None) -> Path | None:
    """The local weights file: ``weights``, else ``$spec.env_var``, else the hub cache (None if absent).

    An explicitly named file that does not exist is an error.
    """
    return find_local_weights(weights, spec.env_var, torch_hub_checkpoint_dir() / spec.filename,
                              f"{spec.filename} from {spec.url} or a .safetensors with its keys")


def download(spec: VGGSpec, timeout: float = 30.0) -> Path:
    """Fetch the official checkpoint into the hub cache, checking its SHA-256 prefix."""
    dest = torch_hub_checkpoint_dir() / spec.filename
    expected_prefix = spec.filename.rsplit("-", 1)[1].split(".")[0]
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    print(f"downloading {spec.url} -> {dest}", file=sys.stderr)
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(spec.url, timeout=timeout) as response, open(tmp, "wb") as f:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                f.write(chunk)
    except (urllib.error.URLError, OSError, TimeoutError):
        tmp.unlink(missing_ok=True)
        raise GanstyleError(offline_message(spec)) from None
    if not digest.hexdigest().startswith(expected_prefix):
        tmp.unlink(missing_ok=True)
        raise GanstyleError(f"{spec.url}: downloaded file fails its SHA-256 check; try again")
    os.replace(tmp, dest)
    return dest


def read_tensors(path: Path, keys: Sequence[str]) -> dict[str, torch.Tensor]:
    """Read only ``keys`` from a .safetensors or torch checkpoint (missing keys are left out)."""
    from ganstyle.io.weights import read_weights_file

    return read_weights_file(path, keys)


def load_state(spec: VGGSpec, path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The conv tensors up to ``spec.last`` from an official-layout file, keyed ``features.N.weight/bias``."""
    path = Path(path)
    expected = spec.expected_shapes
    tensors = read_tensors(path, list(expected))
    missing = [k for k in expected if k not in tensors]
    if missing:
        raise GanstyleError(
            f"{path}: not a {spec.title} checkpoint in torchvision's layout: missing {len(missing)} of "
            f"{len(expected)} conv tensors (first: {missing[0]}); expected the file {spec.filename} from {spec.url}"
        )
    for k, shape in expected.items():
        if tuple(tensors[k].shape) != shape:
            raise GanstyleError(f"{path}: {k} has shape {tuple(tensors[k].shape)}, expected {shape} "
                                f"(is this {spec.title} without batch norm, {spec.filename}?)")
        if not tensors[k].is_floating_point():
            raise GanstyleError(f"{path}: {k} is not a floating-point tensor")
    return tensors


def builder(spec: VGGSpec):
    """The public loader function of one VGG module: ``fn(weights=None, *, pooling, download, device)``."""

    def load(weights: str | os.PathLike | None = None, *, pooling: str = "max", download: bool = True,
             device: torch.device | str = "cpu") -> FeatureBackbone:
        return build(spec, weights, pooling=pooling, download_missing=download, device=device)

    load.__name__ = load.__qualname__ = spec.name.replace("-", "_")
    load.__doc__ = (f"{spec.title} features up to relu5_1 ({spec.description}) from {spec.filename} "
                    f"or a .safetensors with its keys; found locally or downloaded.")
    return load


def build(spec: VGGSpec, weights: str | os.PathLike | None = None, *, pooling: str = "max",
          download_missing: bool = True, device: torch.device | str = "cpu") -> FeatureBackbone:
    """The spec's VGG features with pretrained weights (found locally, else downloaded)."""
    path = find_weights(spec, weights)
    if path is None:
        if not download_missing:
            raise GanstyleError(offline_message(spec))
        path = download(spec)
    state = load_state(spec, path)
    net = architecture(spec, pooling)
    for name, idx in spec.feature_index.items():
        conv = net.stack[name]
        conv.weight.copy_(state[f"features.{idx}.weight"].float())
        conv.bias.copy_(state[f"features.{idx}.bias"].float())
    net.source = str(path)
    return net.to(device)
