"""Content and style inputs for every style method: file paths or (3, H, W) tensors in [0, 1].

Also the two size helpers all methods share: :func:`output_size` (keep the aspect ratio at
a given long side) and :func:`resize_image` (antialiased when shrinking). Opening files goes
through ``ganstyle.io.images.open_image``, whose one-line errors name the file.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F

from ganstyle.errors import GanstyleError
from ganstyle.io.images import image_to_array, open_image, resize_long_side

ImageLike = str | os.PathLike | torch.Tensor
ALPHA_MODES = ("white", "black", "drop", "keep")


def is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def output_size(content_hw: tuple[int, int], long_side: int) -> tuple[int, int]:
    """(H, W) with the long side ``long_side`` and the aspect ratio of ``content_hw``."""
    h, w = content_hw
    s = long_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def resize_image(image: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """(3, H, W) or (B, 3, H, W) -> same at ``hw`` (bicubic, antialiased when shrinking, in [0, 1])."""
    batch = image.dim() == 4
    x = image if batch else image.unsqueeze(0)
    if tuple(x.shape[-2:]) != tuple(hw):
        shrink = hw[0] < x.shape[-2] or hw[1] < x.shape[-1]
        x = F.interpolate(x, size=hw, mode="bicubic", align_corners=False, antialias=shrink).clamp(0, 1)
    return x if batch else x[0]


def image_tensor(img, path, *, channels: int = 3, alpha: str = "white") -> torch.Tensor:
    """An opened PIL image -> (C, H, W) float tensor in [0, 1]."""
    arr = image_to_array(img, channels=channels, alpha=alpha if channels == 3 or alpha == "keep" else "white", path=path)
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def as_tensor(x: ImageLike, what: str) -> torch.Tensor:
    """A path or an image tensor ((3, H, W), (1, H, W) or a batch of one) -> (3, H, W) in [0, 1]."""
    if is_path(x):
        return image_tensor(open_image(x), x)
    if isinstance(x, torch.Tensor):
        t = x.detach().float().cpu()
        if t.dim() == 4 and t.shape[0] == 1:
            t = t[0]
        if t.dim() != 3 or t.shape[0] not in (1, 3):
            raise GanstyleError(f"{what}: expected an image tensor (3, H, W) in [0, 1], got shape {tuple(x.shape)}")
        return t.expand(3, -1, -1).clamp(0, 1) if t.shape[0] == 1 else t.clamp(0, 1)
    raise GanstyleError(f"{what}: expected a file path or a tensor, got {type(x).__name__}")


def native_hw(x: ImageLike) -> tuple[int, int]:
    """(H, W) of an input without converting it (memory checks run before any resize)."""
    if is_path(x):
        img = open_image(x)
        return img.height, img.width
    if isinstance(x, torch.Tensor):
        return tuple(x.shape[-2:])
    raise GanstyleError(f"expected a file path or a tensor, got {type(x).__name__}")


def load_content(content: ImageLike, alpha_mode: str, long_side: int | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Content as (3, H, W) (+ its (1, H, W) alpha when ``alpha_mode`` is keep), resized to ``long_side`` if given."""
    if not is_path(content):
        t = content if isinstance(content, torch.Tensor) else None
        alpha = None
        if t is not None and t.dim() == 3 and t.shape[0] == 4:
            alpha = t[3:].float().cpu() if alpha_mode == "keep" else None
            rgb, a = t[:3].float().cpu(), t[3:].float().cpu()
            if alpha_mode in ("white", "black"):
                bg = 1.0 if alpha_mode == "white" else 0.0
                rgb = rgb * a + bg * (1 - a)
            t = rgb
        img = as_tensor(t if t is not None else content, "content")
        if long_side is not None and max(img.shape[-2:]) != long_side:
            img = resize_image(img, output_size(tuple(img.shape[-2:]), long_side))
        return img, alpha
    pil = open_image(content)
    if long_side is not None:
        pil = resize_long_side(pil, long_side)
    if alpha_mode == "keep" and pil.mode in ("LA", "RGBA"):
        rgba = image_tensor(pil, content, channels=4, alpha="keep")
        return rgba[:3], rgba[3:]
    return image_tensor(pil, content, alpha=alpha_mode), None


def load_style(style: ImageLike, index: int, long_side: int | None = None) -> torch.Tensor:
    """Style image ``index`` (0-based) as (3, h, w); a file is decoded straight to ``long_side``."""
    if is_path(style):
        img = open_image(style)
        return image_tensor(resize_long_side(img, long_side) if long_side else img, style)
    t = as_tensor(style, f"style {index + 1}")
    if long_side and max(t.shape[-2:]) != long_side:
        t = resize_image(t, output_size(tuple(t.shape[-2:]), long_side))
    return t


def load_mask(m: ImageLike, index: int) -> torch.Tensor:
    """A mask file (any image, its luminance) or tensor -> (H, W) in [0, 1]."""
    if is_path(m):
        return image_tensor(open_image(m), m, channels=1)[0]
    t = torch.as_tensor(m).float()
    return t.reshape(t.shape[-2:]) if t.dim() > 2 else t
