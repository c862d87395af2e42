"""Run an image-to-image network on images larger than memory allows, in overlapping tiles.

Each tile is processed with a margin of context and the tiles are blended with a smooth
(raised-cosine) window over their overlap, so there is no visible seam: a pixel near a
tile border gets almost all of its value from the neighbouring tile, in whose interior
it lies. Networks with *global* statistics (instance norm, AdaIN) must have those
statistics frozen before tiling — see ``fast.frozen_norm_stats`` and ``adain`` — or
every tile would be normalised differently.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from ganstyle import torch_utils
from ganstyle.errors import GanstyleError

# Fraction of the free memory one forward pass may use; the rest is for the caller, the
# input/output images and the allocator's fragmentation.
MEMORY_FRACTION = 0.4
# Whole-image buffers that exist even when the network runs in tiles, per pixel: the decoded
# file and its float copies (12 bytes each), the content tensor, the blended output and its
# weights on the CPU.
IMAGE_BUFFER_BYTES_PER_PIXEL = 64
IMAGE_BUFFER_FRACTION = 0.5


def tile_starts(length: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``[0, length)``, overlapping by at least
    ``overlap``. Starts are multiples of ``align`` (a network's total stride), so every tile
    sees the same sampling grid as the whole image; the last tile then ends at ``length``
    and may be up to ``align - 1`` pixels longer than ``tile``."""
    if tile >= length:
        return [0]
    if overlap >= tile:
        raise GanstyleError(f"--tile {tile}: must be larger than the tile overlap ({overlap} px)")
    stride = max(align, (tile - overlap) // align * align)
    last = (length - tile) // align * align
    starts = list(range(0, last, stride)) + [last]
    return sorted(set(starts))


def tile_extents(starts: list[int], tile: int, length: int) -> list[int]:
    """End offset of each tile: ``start + tile``, except the last tile, which reaches ``length``."""
    return [min(length, s + tile) for s in starts[:-1]] + [length]


def _ramp(n: int, margin: int) -> torch.Tensor:
    """Weights over an overlap of ``n`` pixels, seen from the tile whose border it is: zero on
    the outer ``margin`` pixels (whose values the tile border changed), a raised cosine in
    between, one on the inner ``margin`` pixels. The neighbour's weights mirror these, so
    every pixel keeps a positive total weight and only values unaffected by a tile border
    are used."""
    margin = min(margin, (n - 1) // 2)
    t = (torch.arange(n, dtype=torch.float32) + 0.5 - margin) / (n - 2 * margin)
    return torch.sin(t.clamp(0, 1) * math.pi / 2) ** 2


def axis_window(starts: list[int], ends: list[int], index: int, margin: int = 0) -> torch.Tensor:
    """1-D blending weights of tile ``index`` along one axis: 1 inside, ramps where it overlaps a neighbour."""
    start, end = starts[index], ends[index]
    w = torch.ones(end - start)
    if index > 0:
        n = ends[index - 1] - start
        if n > 0:
            w[:n] = torch.minimum(w[:n], _ramp(n, margin))
    if index < len(starts) - 1:
        n = end - starts[index + 1]
        if n > 0:
            w[-n:] = torch.minimum(w[-n:], _ramp(n, margin).flip(0))
    return w


def overlap_for(margin: int, blend: int = 16) -> int:
    return 2 * int(margin) + int(blend)


def measure_receptive_radius(forward: Callable[[torch.Tensor], torch.Tensor], *, size: int = 192,
                             device: torch.device | str = "cpu") -> int:
    """How far (pixels) an output pixel's value reaches into the input, measured with gradients.

    A few probe pixels at different phases of the network's stride are used, and the
    farthest input pixel with a non-zero gradient wins. Capped at ``size // 2``.
    """
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, size, size, generator=g).to(device).requires_grad_(True)
    y = forward(x)
    radius = 0
    centre = size // 2
    for dy, dx in ((0, 0), (1, 2), (3, 1), (2, 3), (5, 6), (7, 4)):
        py, px = centre + dy, centre + dx
        (grad,) = torch.autograd.grad(y[0, :, py, px].sum(), x, retain_graph=True)
        nz = grad.abs().sum(dim=(0, 1)).nonzero()
        if len(nz):
            radius = max(radius, int((nz[:, 0] - py).abs().max()), int((nz[:, 1] - px).abs().max()))
    return min(radius, size // 2)


def tiled_apply(fn: Callable[[torch.Tensor, tuple[int, int]], torch.Tensor], image: torch.Tensor, *,
                tile: int, margin: int, blend: int = 16, align: int = 1,
                out_channels: int | None = None) -> torch.Tensor:
    """Apply ``fn(tile_image, (top, left)) -> tile_output`` over overlapping tiles and blend.

    ``image`` is (B, C, H, W) on any device; the output is assembled on the CPU in float32
    (a huge result need not fit in accelerator memory) and has ``out_channels`` channels.
    ``fn`` must return an output of its input's spatial size.

    ``margin`` is the network's receptive radius: output pixels closer than that to a tile
    border differ from the whole-image result and get zero weight. Neighbouring tiles
    overlap by ``2 * margin + blend`` and cross-fade over the ``blend`` pixels in between,
    so with frozen normalisation statistics the result equals the untiled one. ``align``
    is the network's total stride: tiles start on multiples of it.
    """
    if image.dim() != 4:
        raise ValueError(f"tiled_apply expects (B, C, H, W), got {tuple(image.shape)}")
    b, c, h, w = image.shape
    tile = int(tile)
    overlap = overlap_for(margin, blend)
    if overlap > tile - align:
        raise GanstyleError(f"--tile {tile}: too small for this network; use at least {overlap + align} px")
    ys, xs = tile_starts(h, tile, overlap, align), tile_starts(w, tile, overlap, align)
    ye, xe = tile_extents(ys, tile, h), tile_extents(xs, tile, w)
    out = None
    weight = torch.zeros(1, 1, h, w)
    for iy, (y0, y1) in enumerate(zip(ys, ye)):
        wy = axis_window(ys, ye, iy, margin)
        for ix, (x0, x1) in enumerate(zip(xs, xe)):
            wx = axis_window(xs, xe, ix, margin)
            piece = fn(image[:, :, y0:y1, x0:x1], (y0, x0)).float().cpu()
            if piece.shape[-2:] != (y1 - y0, x1 - x0):
                raise RuntimeError(f"tile function changed the size {(y1 - y0, x1 - x0)} -> {tuple(piece.shape[-2:])}")
            if out is None:
                out = torch.zeros(b, out_channels or piece.shape[1], h, w)
            win = (wy[:, None] * wx[None, :])[None, None]
            out[:, :, y0:y1, x0:x1] += piece * win
            weight[:, :, y0:y1, x0:x1] += win
    return out / weight


def check_image_memory(height: int, width: int, flag: str = "--size") -> None:
    """Refuse an image whose whole-image buffers alone (which tiling cannot shrink) would not fit
    in the CPU's free memory, before anything is allocated at that size."""
    need = height * width * IMAGE_BUFFER_BYTES_PER_PIXEL
    have = torch_utils.available_memory(torch.device("cpu"), unknown=1 << 50)
    # Half of what is free: the tiles' activations, the caller and other processes need the rest.
    if need > IMAGE_BUFFER_FRACTION * have:
        gib = 1024**3
        raise GanstyleError(f"{flag}: a {width}x{height} output needs about {need / gib:.1f} GiB of memory even "
                            f"when the network runs in tiles, more than half of the {have / gib:.1f} GiB available; "
                            f"use a smaller {flag}")


def max_tile_pixels(bytes_per_pixel: float, device: torch.device, *, budget: int | None = None) -> int:
    """How many pixels one forward pass may process given a per-pixel memory cost."""
    budget = int(torch_utils.available_memory(device) * MEMORY_FRACTION) if budget is None else int(budget)
    return max(1, int(budget / max(bytes_per_pixel, 1.0)))


def choose_tile(height: int, width: int, bytes_per_pixel: float, device: torch.device, *,
                tile: int | None = None, overlap: int = 64, align: int = 8,
                budget: int | None = None) -> int | None:
    """Tile size for an image: ``tile`` if given (0 = never tile), None when the whole image fits,
    else the largest square (a multiple of ``align``) that fits the memory budget."""
    if tile is not None:
        if tile < 0:
            raise GanstyleError(f"--tile {tile}: must be 0 (no tiling) or a positive size in pixels")
        if tile == 0 or tile >= max(height, width):
            return None
        if tile < overlap + align:
            raise GanstyleError(f"--tile {tile}: too small for this network (tiles overlap by {overlap} px); "
                                f"use at least {overlap + align} px, or 0 for no tiling")
        return int(tile)
    limit = max_tile_pixels(bytes_per_pixel, device, budget=budget)
    if height * width <= limit:
        return None
    side = int(math.isqrt(limit)) // align * align
    if side < overlap + 4 * align:  # smaller tiles would recompute mostly overlap
        raise GanstyleError(
            f"image of {width}x{height} px does not fit in memory even in tiles of {overlap + 4 * align} px; "
            "free memory or downscale the image")
    return side
