"""Batch conversions shared by the in-memory datasets: uint8 pixels -> model tensors.

Downloaded sets arrive as one big uint8 array of square images; these helpers turn it
into float32 (N, C, H, W) in [-1, 1] at the size and channel count a model wants,
in chunks so that converting 50,000 CIFAR images never needs two float copies at once.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganstyle.errors import GanstyleError

# ITU-R BT.601 luma, the same weights ganstyle.io.images uses for single images.
LUMA = (0.299, 0.587, 0.114)


def convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """(N, C, H, W) with C in {1, 3} -> ``channels`` (grey is repeated; colour -> luma)."""
    c = x.shape[1]
    if channels == c:
        return x
    if c == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x * w).sum(dim=1, keepdim=True)
    raise GanstyleError(f"channels must be 1 or 3, got {channels}")


def resize_square(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize square float images; antialiased when shrinking so that no aliasing is learnt."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    shrinking = size < x.shape[-1]
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrinking)


def uint8_to_model(
    images: np.ndarray, *, image_size: int | None = None, channels: int | None = None, chunk: int = 4096
) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 (N, channels, size, size) in [-1, 1].

    ``None`` keeps the native size / channel count.
    """
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"expected uint8 (N, C, H, W), got {images.dtype} {images.shape}")
    n, c, h, w = images.shape
    if h != w and image_size is not None:
        raise ValueError("uint8_to_model resizes square images only")
    size = image_size or h
    channels = channels or c
    if channels not in (1, 3):
        raise GanstyleError(f"--channels must be 1 or 3, got {channels}")
    if size < 1:
        raise GanstyleError(f"--image-size must be positive, got {size}")
    out = torch.empty((n, channels, size, size), dtype=torch.float32)
    for start in range(0, n, chunk):
        # A copy per chunk: parsed files are read-only buffers, which torch will not wrap.
        x = torch.from_numpy(np.array(images[start : start + chunk])).float().div_(255.0)
        # Fewer channels first, so the resize does the least work.
        if channels < c:
            x = resize_square(convert_channels(x, channels), size)
        else:
            x = convert_channels(resize_square(x, size), channels)
        out[start : start + chunk] = x.clamp_(0.0, 1.0).mul_(2.0).sub_(1.0)
    return out
