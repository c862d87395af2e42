"""Inception-v3 as used for FID: the TensorFlow 2015-12-05 graph ported to PyTorch.

This is the network of the original FID code (TTUR) as pytorch-fid and torch-fidelity
run it: torchvision's Inception-v3 layout with 1008 classes, no auxiliary head, and the
FID-specific blocks — average pools that ignore padding (TensorFlow's behaviour) in
Mixed_5b..5d, 6b..6e and 7b, and a *max* pool in Mixed_7c's pool branch. Parameter names
match torchvision's, so pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` loads as is.

Input: images (N, C, H, W) in [-1, 1] (ganstyle's data range; pytorch-fid's [0, 1] input
followed by ``2x − 1`` lands in the same place). Grey images are repeated to 3 channels;
everything is resized to 299×299 with bilinear interpolation (``align_corners=False``).
Output: 2048-d pool features and the 1008-way logits *without* the fc bias (the logits
the original Inception Score code used).

Weights are found, in order: an explicit path (``--weights``), ``$GANSTYLE_INCEPTION_WEIGHTS``,
torch.hub's cache (``$TORCH_HOME/hub/checkpoints/``, shared with pytorch-fid), then a download
from the official URL checked against its SHA-256 prefix.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ganstyle.errors import GanstyleError
from ganstyle.io.weights import find_local_weights, read_weights_file

FID_WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_FILE = FID_WEIGHTS_URL.rsplit("/", 1)[1]
FID_WEIGHTS_SHA256_PREFIX = "6726825d"  # torch.hub convention: the file name carries the hash prefix
WEIGHTS_ENV = "GANSTYLE_INCEPTION_WEIGHTS"
INPUT_SIZE = 299


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _tf_avg_pool(x):
    # TensorFlow's average pool divides by the number of real (unpadded) pixels
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x):
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_tf_avg_pool(x)),
        ], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x):
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, kernel_size=3, stride=2),
        ], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(_tf_avg_pool(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, cin: int, max_pool: bool):
        super().__init__()
        # the FID graph's last block pools with max instead of average (a quirk of that export)
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else _tf_avg_pool(x)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """Inception-v3 (FID variant) -> (2048-d pool features, 1008 logits without bias)."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
                     "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(self, name)(x)
        features = x.mean(dim=(2, 3))
        return features, features @ self.fc.weight.T


# ------------------------------------------------------------------ weights


def _hub_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_FILE


def _missing_message(tried: str) -> str:
    return (f"Inception weights for FID not found ({tried}): download {FID_WEIGHTS_URL} and put it at "
            f"{_hub_path()}, or pass --weights PATH / set {WEIGHTS_ENV}")


def resolve_inception_weights(path: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Find the weights file (explicit path, env var, hub cache), downloading if allowed."""
    cached = _hub_path()
    found = find_local_weights(path, WEIGHTS_ENV, cached, f"{FID_WEIGHTS_FILE} from {FID_WEIGHTS_URL}")
    if found is not None:
        return found
    if not download:
        raise GanstyleError(_missing_message("downloads disabled"))
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(FID_WEIGHTS_URL, str(cached), hash_prefix=FID_WEIGHTS_SHA256_PREFIX, progress=True)
    except RuntimeError as exc:  # hash mismatch: a corrupt or tampered download
        raise GanstyleError(f"downloaded Inception weights failed their checksum ({exc}); delete {cached} and retry") from None
    except OSError as exc:  # offline, DNS, proxy, HTTP errors all derive from OSError
        raise GanstyleError(_missing_message(f"download failed: {type(exc).__name__}")) from None
    return cached


def load_inception_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of an Inception weights file (one error line naming it when unreadable)."""
    return read_weights_file(path)


def build_fid_inception(weights: str | os.PathLike | None = None, *, download: bool = True,
                        random_weights: bool = False) -> tuple[FIDInceptionV3, str]:
    """The FID Inception network in eval mode and the SHA-256 of its weights ("random" if none)."""
    model = FIDInceptionV3()
    if random_weights:
        return model.eval().requires_grad_(False), "random"
    from ganstyle.io.checkpoints import sha256_file

    path = resolve_inception_weights(weights, download=download)
    state = load_inception_state_dict(path)
    # AuxLogits / num_batches_tracked may be present in other exports; they do not affect inference
    state = {k: v for k, v in state.items() if not k.startswith("AuxLogits.") and not k.endswith("num_batches_tracked")}
    own = model.state_dict()
    own = {k for k in own if not k.endswith("num_batches_tracked")}
    missing, unexpected = sorted(own - state.keys()), sorted(state.keys() - own)
    if missing or unexpected:
        raise GanstyleError(f"{path} is not the FID Inception-v3 state_dict (missing {missing[:3]}, unexpected "
                            f"{unexpected[:3]}); expected {FID_WEIGHTS_FILE} from {FID_WEIGHTS_URL}")
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise GanstyleError(f"{path}: tensor shapes do not match the FID Inception-v3 ({str(exc).splitlines()[-1].strip()})") from None
    return model.eval().requires_grad_(False), sha256_file(path)
