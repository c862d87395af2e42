"""Metrics for a stylised image: how much content it kept, how much style it took.

* ``content_loss``: MSE of relu4_2 features against the content, relative to the content
  features' mean square (the same normalisation as the Gatys objective);
* ``style_loss``: mean over relu1_1..relu5_1 of the Gram MSE against the style, each relative
  to the style Gram's mean square;
* ``ssim``: SSIM of the luminance against the content's (Wang et al. 2004: 11x11 Gaussian
  window, sigma 1.5, K1 = 0.01, K2 = 0.03, data range 1, borders cropped);
* ``color_swd``: sliced 1-Wasserstein distance between the RGB pixel distributions of the
  output and the style (fixed seed and projections, so runs are comparable).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganstyle.config import field, from_dict
from ganstyle.errors import GanstyleError
from ganstyle.io.images import load_image
from ganstyle.style import color
from ganstyle.style.backbones import BACKBONE_CHOICES
from ganstyle.style.inputs import output_size, resize_image
from ganstyle.style.losses import gram_matrix
from ganstyle.style.methods.gatys import STYLE_LAYERS

CONTENT_LAYER = "relu4_2"


@dataclass
class StyleEvalConfig:
    backbone: str = field("auto", help="feature network for the losses: vgg19, random, or auto (vgg19 if its "
                          "weights are found locally, else random)", choices=BACKBONE_CHOICES)
    weights: str | None = field(None, help="local VGG-19 weights file (.pth or .safetensors)")
    size: int | None = field(None, help="evaluate at this long side (default: OUT's own size)")
    layers: list[str] = field(list(STYLE_LAYERS), help="layers whose Gram matrices measure the style")
    content_layer: str = field(CONTENT_LAYER, help="layer whose features measure the content")
    seed: int = field(0, help="seed of the random backbone and of the colour projections")
    projections: int = field(64, help="random directions of the sliced Wasserstein colour distance")
    device: str = field("auto", help="auto, cpu, cuda or cuda:N")


def _gaussian_window(size: int = 11, sigma: float = 1.5, dtype=torch.float64) -> torch.Tensor:
    x = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return g


def ssim(a: torch.Tensor, b: torch.Tensor, *, data_range: float = 1.0, win_size: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03) -> float:
    """Mean SSIM of two single-channel images (H, W) (or (1, H, W)), valid-window average.

    Uses population (not sample) covariances, as the original paper does.
    """
    a = a.reshape(a.shape[-2:]).double()[None, None]
    b = b.reshape(b.shape[-2:]).double()[None, None]
    if a.shape != b.shape:
        raise GanstyleError(f"ssim: images differ in size {tuple(a.shape[-2:])} vs {tuple(b.shape[-2:])}")
    if min(a.shape[-2:]) < win_size:
        raise GanstyleError(f"ssim: images must be at least {win_size} pixels on each side")
    g = _gaussian_window(win_size, sigma)

    def blur(x: torch.Tensor) -> torch.Tensor:  # separable Gaussian, valid region only
        x = F.conv2d(x, g.view(1, 1, -1, 1))
        return F.conv2d(x, g.view(1, 1, 1, -1))

    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(s.mean())


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, *, projections: int = 64, quantiles: int = 512,
                       seed: int = 0) -> float:
    """Sliced 1-Wasserstein distance between two point clouds (N, D) and (M, D).

    Each random unit direction projects both clouds to 1-D, where W1 is the mean absolute
    difference of matching quantiles; the result averages over directions.
    """
    a, b = a.double(), b.double()
    g = torch.Generator().manual_seed(seed)
    dirs = torch.randn(a.shape[1], projections, generator=g, dtype=torch.float64)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)
    pa, _ = torch.sort(a @ dirs, dim=0)
    pb, _ = torch.sort(b @ dirs, dim=0)
    q = (torch.arange(quantiles, dtype=torch.float64) + 0.5) / quantiles

    def at(sorted_proj: torch.Tensor) -> torch.Tensor:
        pos = q * (sorted_proj.shape[0] - 1)
        lo = pos.floor().long()
        hi = pos.ceil().long()
        frac = (pos - lo).unsqueeze(1)
        return sorted_proj[lo] * (1 - frac) + sorted_proj[hi] * frac

    return float((at(pa) - at(pb)).abs().mean())


def _pixels(image: torch.Tensor, max_pixels: int = 1 << 18) -> torch.Tensor:
    """(3, H, W) -> (N, 3), downscaled so that huge images stay cheap (the histogram barely changes)."""
    h, w = image.shape[-2:]
    if h * w > max_pixels:
        s = math.sqrt(max_pixels / (h * w))
        image = resize_image(image, (max(1, int(h * s)), max(1, int(w * s))))
    return image.reshape(3, -1).T


def _load(x, what: str, long_side: int | None = None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x.detach().float().cpu()
        t = t[0] if t.dim() == 4 else t
        if t.dim() != 3 or t.shape[0] not in (1, 3, 4):
            raise GanstyleError(f"{what}: expected an image tensor (3, H, W), got shape {tuple(x.shape)}")
        t = t[:3] if t.shape[0] != 1 else t.expand(3, -1, -1)
        if long_side is not None:
            t = resize_image(t, output_size(tuple(t.shape[-2:]), long_side))
        return t.clamp(0, 1)
    if not isinstance(x, (str, os.PathLike)):
        raise GanstyleError(f"{what}: expected a file path or a tensor, got {type(x).__name__}")
    return load_image(x, long_side=long_side)


def style_eval(out, content, style, config: StyleEvalConfig | None = None, *, backbone_net=None, **fields) -> dict:
    """Metrics of ``out`` against ``content`` and ``style`` (paths or (3, H, W) tensors in [0, 1]).

    ``fields`` override single fields of ``config`` (``size=256``). With ``size`` the metrics
    are taken at that long side (default: ``out``'s own size); the content is resized to
    ``out``'s size and the style to the same long side. ``backbone_net`` is a ready backbone
    (instead of building ``config.backbone``); its name is returned with the metrics.
    """
    from ganstyle.style.backbones import build_backbone
    from ganstyle.torch_utils import resolve_device

    if config is not None and not isinstance(config, StyleEvalConfig):
        raise GanstyleError(f"style_eval: config must be a StyleEvalConfig, got {type(config).__name__} "
                            "(pass a backbone name as backbone=..., a built one as backbone_net=...)")
    data = dataclasses.asdict(config) if config is not None else {}
    data.update(fields)
    cfg = from_dict(StyleEvalConfig, data, source="style_eval")
    if cfg.size is not None and cfg.size < 11:
        raise GanstyleError(f"--size {cfg.size}: evaluate at a long side of at least 11 pixels")
    dev = resolve_device(cfg.device)
    out_img = _load(out, "OUT", cfg.size)
    hw = tuple(out_img.shape[-2:])
    content_img = resize_image(_load(content, "CONTENT", max(hw)), hw)
    style_img = _load(style, "STYLE", max(hw))
    if backbone_net is not None:
        net = backbone_net.to(dev)
    else:
        net = build_backbone(cfg.backbone, cfg.weights, pooling="avg", seed=cfg.seed, device=dev)
    layers, content_layer = list(cfg.layers), cfg.content_layer
    wanted = list(dict.fromkeys(layers + [content_layer]))
    with torch.no_grad():
        fo = net(out_img[None].to(dev), wanted)
        fc = net(content_img[None].to(dev), [content_layer])
        fs = net(style_img[None].to(dev), layers)
        target = fc[content_layer].float()
        c_loss = F.mse_loss(fo[content_layer].float(), target) / target.pow(2).mean().clamp_min(1e-12)
        s_terms = []
        for n in layers:
            gt = gram_matrix(fs[n])
            s_terms.append(F.mse_loss(gram_matrix(fo[n]), gt) / gt.pow(2).mean().clamp_min(1e-20))
        s_loss = torch.stack(s_terms).mean()
    return {
        "backbone": net.name,
        "content_loss": float(c_loss),
        "style_loss": float(s_loss),
        "ssim": ssim(color.luminance(out_img), color.luminance(content_img)) if min(hw) >= 11 else float("nan"),
        "color_swd": sliced_wasserstein(_pixels(out_img), _pixels(style_img), projections=cfg.projections,
                                        seed=cfg.seed),
        "width": hw[1],
        "height": hw[0],
    }
