"""Arbitrary style transfer in real time with adaptive instance normalisation (Huang & Belongie 2017).

A frozen encoder (the backbone up to relu4_1) maps content and style to features; AdaIN
gives the content features the style's per-channel mean and standard deviation; a decoder
trained once, on many content and style images, maps the result back to an image. Any
style works at inference without retraining, which also allows the paper's controls:

* ``alpha`` trades content for style by interpolating the features fed to the decoder;
* several styles mix with ``weights`` (a convex combination of their AdaIN targets);
* ``mask`` images route styles to regions: each style's statistics are applied to the
  content features under its mask, normalised with the statistics *of that region*;
* ``preserve_color`` first gives the style image the content's colour distribution
  (mean and covariance in RGB, ``color.match_color_histogram``), so only the texture is
  transferred.
"""

from __future__ import annotations

import sys

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganstyle.config import field
from ganstyle.errors import GanstyleError
from ganstyle.style import color
from ganstyle.style.color import match_color_histogram
from ganstyle.style.inputs import ImageLike, as_tensor, load_mask
from ganstyle.style.methods.base import NetworkConfig, NetworkMethod, Stylized, TrainingObjective
from ganstyle.style.methods.adain_decoder import Decoder
from ganstyle.style.methods.fast import check_image, stats_image

EPS = 1e-5
# Huang & Belongie: the encoder ends at relu4_1; style statistics at relu1_1 ... relu4_1.
CONTENT_LAYERS = ["relu4_1"]
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]


def build_encoder(cfg, device: torch.device, announce: bool = False) -> nn.Module:
    """The backbone a model was trained with (name, weights, pooling and seed from its config)."""
    from ganstyle.style.backbones import build_backbone

    # A weights file that moved since training is looked up the usual way ($GANSTYLE_VGG19_WEIGHTS,
    # the torch hub cache); the fingerprint check then makes sure it holds the same weights.
    weights = cfg.weights if cfg.weights and Path(cfg.weights).is_file() else None
    return build_backbone(cfg.backbone, weights, pooling=cfg.pooling, seed=cfg.seed, device=device,
                          announce=announce)


# ---------------------------------------------------------------------------- AdaIN with controls


def masked_mean_std(feat: torch.Tensor, mask: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of ``feat`` (B, C, h, w) weighted by ``mask`` (B or 1, 1, h, w)."""
    w = mask / mask.sum(dim=(2, 3), keepdim=True).clamp_min(1e-12)
    mean = (feat * w).sum(dim=(2, 3), keepdim=True)
    var = ((feat - mean) ** 2 * w).sum(dim=(2, 3), keepdim=True)
    return mean, (var + eps).sqrt()


def content_statistics(feat: torch.Tensor, masks: torch.Tensor | None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The content statistics AdaIN normalises with: global, or one pair per mask region."""
    from ganstyle.style.losses import mean_std

    if masks is None:
        return [mean_std(feat, EPS)]
    return [masked_mean_std(feat, masks[:, i:i + 1], EPS) for i in range(masks.shape[1])]


def feature_masks(masks: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """(1, K, H, W) image masks -> (1, K, h, w) at feature resolution (area-averaged: soft edges)."""
    m = F.adaptive_avg_pool2d(masks.float(), tuple(size)) if tuple(masks.shape[-2:]) != tuple(size) else masks.float()
    total = m.sum(dim=1, keepdim=True)
    # Overlapping masks share a pixel; uncovered pixels keep the content features.
    return m / total.clamp_min(1.0)


def adain_target(content_feat: torch.Tensor, style_stats: Sequence[tuple[torch.Tensor, torch.Tensor]], *,
                 alpha: float = 1.0, weights: Sequence[float] | None = None, masks: torch.Tensor | None = None,
                 content_stats: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None) -> torch.Tensor:
    """The decoder's input: content features re-normalised to the style statistics.

    ``style_stats``: (mean, std) per style. ``weights`` mixes styles (normalised to sum 1);
    ``masks`` (1, K, h, w) at feature resolution routes style k to mask k instead.
    ``content_stats`` overrides the statistics computed from ``content_feat`` (tiling
    passes the whole image's). ``alpha`` = 0 returns the content features, 1 the full AdaIN.
    """
    k = len(style_stats)
    if content_stats is None:
        content_stats = content_statistics(content_feat, masks)
    if masks is None:
        w = torch.ones(k) if weights is None else torch.as_tensor(list(weights), dtype=torch.float32)
        w = w / w.sum()
        (c_mean, c_std), = content_stats
        normalized = (content_feat - c_mean) / c_std
        target = sum(float(wi) * (normalized * s_std + s_mean) for wi, (s_mean, s_std) in zip(w, style_stats) if wi != 0)
    else:
        covered = masks.sum(dim=1, keepdim=True)
        target = content_feat * (1 - covered)
        for i, ((s_mean, s_std), (c_mean, c_std)) in enumerate(zip(style_stats, content_stats)):
            target = target + masks[:, i:i + 1] * ((content_feat - c_mean) / c_std * s_std + s_mean)
    if alpha == 1.0:
        return target
    return alpha * target + (1 - alpha) * content_feat


def check_weights(weights: Sequence[float] | None, n_styles: int) -> list[float] | None:
    if weights is None:
        return None
    weights = [float(w) for w in weights]
    if len(weights) != n_styles:
        raise GanstyleError(f"--style-blend: got {len(weights)} weights for {n_styles} style image(s); give one per style")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise GanstyleError("--style-blend: weights must be non-negative and not all zero")
    return weights


# ---------------------------------------------------------------------------- inference

ENCODER_STRIDE = 8  # three 2x2 poolings before relu4_1
_RADIUS_CACHE: dict[tuple, int] = {}


def _receptive_radius(model, device: torch.device) -> int:
    """Receptive radius of encoder + decoder, measured once per model (AdaIN itself is per-pixel
    once its statistics are fixed, so it does not widen it)."""
    from ganstyle.style.tiling import measure_receptive_radius

    key = (str(model.path), model.step, str(device))
    if key not in _RADIUS_CACHE:
        layer = CONTENT_LAYERS[0]

        def forward(x: torch.Tensor) -> torch.Tensor:
            return model.net(model.encoder(x, [layer])[layer], list(x.shape[-2:]))

        size = 224  # VGG-19 to relu4_1 plus the decoder reach ~75 px
        with torch.enable_grad():
            radius = measure_receptive_radius(forward, size=size, device=device)
            while radius >= size // 2 - 8 and size < 1024:
                size *= 2
                radius = measure_receptive_radius(forward, size=size, device=device)
        _RADIUS_CACHE[key] = radius + ENCODER_STRIDE  # margin for the pooling phase of other tiles
    return _RADIUS_CACHE[key]



def _prepare_masks(mask, n_styles: int, size: Sequence[int]) -> torch.Tensor | None:
    """One mask per style: (H, W) / (1, H, W) tensors in [0, 1], or one (K, H, W) tensor."""
    if mask is None:
        return None
    if isinstance(mask, torch.Tensor) and mask.dim() == 3 and mask.shape[0] == n_styles and n_styles > 1:
        masks = list(mask)
    else:
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask]
    if len(masks) != n_styles:
        raise GanstyleError(f"--mask: got {len(masks)} mask(s) for {n_styles} style image(s); give one mask per style")
    out = []
    for i, m in enumerate(masks):
        m = torch.as_tensor(m, dtype=torch.float32)
        if m.dim() == 3:
            m = m.mean(dim=0)  # an RGB mask image: its grey level
        if m.dim() != 2:
            raise GanstyleError(f"--mask {i + 1}: expected an (H, W) image, got shape {tuple(m.shape)}")
        if tuple(m.shape) != tuple(size):
            m = F.interpolate(m[None, None], size=tuple(size), mode="bilinear", align_corners=False)[0, 0]
        out.append(m.clamp(0, 1))
    return torch.stack(out)[None]


def stylize_adain(content_img: torch.Tensor, style_imgs: torch.Tensor | Sequence[torch.Tensor], model_dir,
                  alpha: float = 1.0, weights: Sequence[float] | None = None, preserve_color: bool = False,
                  mask=None, *, device: str | torch.device = "auto", precision: str = "auto",
                  tile: int | None = None, style_size: int | None = 512) -> torch.Tensor:
    """Stylise a (3, H, W) image in [0, 1] with one or more style images; returns (3, H, W) in [0, 1].

    ``style_imgs``: one (3, h, w) tensor or a list. ``weights``: style mix (one per style).
    ``mask``: one (H, W) mask in [0, 1] per style (resized to the content) routing styles to
    regions. ``style_size``: style images are downscaled to this long side (None: as given).
    ``model_dir``: a trained model directory, an already loaded ``StyleModel`` (a folder of
    photos loads it once), or None for the model shipped with the package.
    ``tile``: None = automatic from free memory, 0 = never, N = N x N tiles. Tiles overlap by
    twice the encoder-decoder's receptive radius and are normalised with the whole image's
    feature statistics (from a downscaled copy if even that does not fit).
    """
    from ganstyle.style.losses import mean_std
    from ganstyle.style.tiling import choose_tile, max_tile_pixels, overlap_for, tiled_apply
    from ganstyle.torch_utils import autocast, resolve_device, resolve_precision

    if not 0.0 <= float(alpha) <= 1.0:
        raise GanstyleError(f"--alpha {alpha}: must be between 0 (content) and 1 (full style)")
    dev = resolve_device(str(device)) if not isinstance(device, torch.device) else device
    precision = resolve_precision(precision, dev, warn=None)
    if model_dir is None:
        from ganstyle.style.pretrained import load_shipped_model

        model = load_shipped_model(str(dev))
    elif hasattr(model_dir, "encoder") and hasattr(model_dir, "net"):
        model = model_dir
    else:
        model = ADAIN.load(model_dir, dev)
    encoder, decoder = model.encoder, model.net
    layer = CONTENT_LAYERS[0]
    styles = [style_imgs] if isinstance(style_imgs, torch.Tensor) and style_imgs.dim() == 3 else list(style_imgs)
    if not styles:
        raise GanstyleError("--style: give at least one style image")
    weights = check_weights(weights, len(styles))
    if weights is not None and mask is not None:
        raise GanstyleError("--style-blend and --mask cannot be combined: masks already say which style goes where")
    x = check_image(content_img, "content image")
    h, w = x.shape[-2:]
    masks = _prepare_masks(mask, len(styles), (h, w))

    style_stats = []
    for i, s in enumerate(styles):
        s = check_image(s, f"style image {i + 1}")
        if style_size and max(s.shape[-2:]) > style_size:
            scale = style_size / max(s.shape[-2:])
            s = F.interpolate(s, size=(max(8, round(s.shape[2] * scale)), max(8, round(s.shape[3] * scale))),
                              mode="bilinear", antialias=True, align_corners=False)
        if preserve_color:
            s = match_color_histogram(s[0], x[0])[None]
        with torch.no_grad(), autocast(dev, precision):
            f = encoder(s.to(dev), [layer])[layer].float()
        style_stats.append(mean_std(f, EPS))

    def features_and_masks(img: torch.Tensor, mask_img: torch.Tensor | None):
        with autocast(dev, precision):
            f = encoder(img.to(dev), [layer])[layer].float()
        fm = feature_masks(mask_img.to(dev), f.shape[-2:]) if mask_img is not None else None
        return f, fm

    value_bytes = 2 if precision != "fp32" else 4
    # The encoder's first stage (relu1_x at full resolution) and the decoder's last one dominate.
    first_stage = getattr(encoder, "channels", {}).get("relu1_1", 64)
    bpp = max(decoder.bytes_per_pixel(value_bytes), value_bytes * (3.0 * first_stage + 12))
    fits = tile == 0 or (tile is None and h * w <= max_tile_pixels(bpp, dev)) or (tile and tile >= max(h, w))
    tile_size = None
    if not fits:  # measuring the receptive radius costs a few backward passes: only when tiling
        overlap = overlap_for(_receptive_radius(model, dev))
        tile_size = choose_tile(h, w, bpp, dev, tile=tile, overlap=overlap, align=ENCODER_STRIDE)
    frozen = None
    if tile_size is not None:
        small = stats_image(x, max_tile_pixels(bpp, dev))
        small_masks = None if masks is None else F.interpolate(masks, size=small.shape[-2:], mode="area")
        with torch.no_grad():
            f, fm = features_and_masks(small, small_masks)
        frozen = content_statistics(f, fm)

    # Residual decoding (declared by the shipped model): the photo plus what the AdaIN target changes
    # in the decoder's output, decoder(target) - decoder(content features). What a briefly trained
    # decoder gets wrong in both terms cancels, so the layout stays the photo's.
    residual = bool(getattr(model, "residual_decoding", False))

    def run(piece: torch.Tensor, origin=(0, 0)) -> torch.Tensor:
        y, x0 = origin
        th, tw = piece.shape[-2:]
        piece_masks = None if masks is None else masks[..., y:y + th, x0:x0 + tw]
        with torch.no_grad():
            f, fm = features_and_masks(piece, piece_masks)
            t = adain_target(f, style_stats, alpha=float(alpha), weights=weights, masks=fm, content_stats=frozen)
            with autocast(dev, precision):
                out = decoder(t, [th, tw]).float()
                if residual:
                    out = piece.to(out.device) + out - decoder(f, [th, tw]).float()
                return out.clamp(0, 1)

    if tile_size is None:
        result = run(x)[0].cpu()
    else:
        margin = _receptive_radius(model, dev)
        result = tiled_apply(run, x, tile=tile_size, margin=margin, align=ENCODER_STRIDE)[0].clamp(0, 1)
    if getattr(model, "match_style_colors", False) and len(styles) == 1 and masks is None and not preserve_color:
        # Declared by the shipped model: its briefly trained decoder under-reproduces the
        # painting's colours, so the result's colour statistics are moved onto the style's.
        s = check_image(styles[0], "style image 1")[0]
        result = float(alpha) * match_color_histogram(result, s).clamp(0, 1) + (1 - float(alpha)) * result
    return result


# ---------------------------------------------------------------------------- training


class AdaINObjective(TrainingObjective):
    """The paper's objective: content loss at relu4_1 against the AdaIN target, plus the
    style loss on channel means and stds at relu1_1 ... relu4_1."""

    def __init__(self, cfg, backbone, device: torch.device):
        from ganstyle.torch_utils import autocast

        self.cfg, self.encoder, self.device = cfg, backbone, device
        self.autocast = lambda: autocast(device, cfg.precision)
        (self.content_layer,) = cfg.content_layers
        with torch.no_grad():
            probe = backbone(torch.full((1, 3, 32, 32), 0.5, device=device), [self.content_layer])[self.content_layer]
        self.net = Decoder(probe.shape[1], cfg.width)
        self.layers = list(dict.fromkeys(list(cfg.style_layers) + [self.content_layer]))

    def target(self, content: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        from ganstyle.style.losses import adain

        with torch.no_grad(), self.autocast():
            c = self.encoder(content, [self.content_layer])[self.content_layer].float()
            s = self.encoder(style, self.layers)
        return adain(c, s[self.content_layer].float(), EPS), s

    def losses(self, content: torch.Tensor, style: torch.Tensor) -> dict[str, torch.Tensor]:
        from ganstyle.style.losses import adain_style_loss, content_loss

        cfg = self.cfg
        t, s = self.target(content, style)
        with self.autocast():
            out = self.net(t, list(content.shape[-2:]))
            feats = self.encoder(out, self.layers)
        c = content_loss(feats[self.content_layer], t) * cfg.content_weight
        st = adain_style_loss({n: feats[n] for n in cfg.style_layers}, {n: s[n] for n in cfg.style_layers})
        st = st * cfg.style_weight
        losses = {"total": c + st, "content": c, "style": st}
        if cfg.tv_weight:
            from ganstyle.style.losses import tv_loss

            tv = tv_loss(out) * cfg.tv_weight
            losses["total"] = losses["total"] + tv
            losses["tv"] = tv
        return losses

    def preview(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Rows of content | style | result."""
        t, _ = self.target(content, style)
        with self.autocast():
            out = self.net(t, list(content.shape[-2:])).float().clamp(0, 1)
        return torch.stack([content, style, out], dim=1).flatten(0, 1).cpu()


# ---------------------------------------------------------------------------- the method


@dataclass
class AdaINConfig(NetworkConfig):
    alpha: float = field(1.0, help="style strength, 0 (content) .. 1 (full style)")
    style_blend: list[float] = field([], help="one weight per style image (default: equal)")
    mask: list[str] = field([], help="one grayscale mask image per style saying where it applies")
    style_size: int = field(512, help="style images are downscaled to this long side")


class AdaINMethod(NetworkMethod):
    name = "adain"
    summary = "a network for any style image (milliseconds)"
    config_class = AdaINConfig
    style_folder = True
    load_scale = 2
    requires_model = False  # without --model: the arbitrary-style model shipped in the package
    train_defaults = {"width": 64, "lr": 1e-4, "style_weight": 10.0, "content_weight": 1.0, "tv_weight": 0.0,
                      "content_layers": CONTENT_LAYERS, "load_size": 0, "batch_size": 8, "steps": 160000,
                      "lr_decay": 5e-5}

    def loss_layers(self, cfg, layer_names: set[str]) -> tuple[list[str], list[str]]:
        if cfg.content_layers and list(cfg.content_layers) != CONTENT_LAYERS:
            raise GanstyleError(f"--content-layers: AdaIN's encoder ends at {CONTENT_LAYERS[0]}; "
                                "leave --content-layers unset")
        return CONTENT_LAYERS, STYLE_LAYERS

    def objective(self, cfg, backbone, device: torch.device) -> AdaINObjective:
        return AdaINObjective(cfg, backbone, device)

    def load_encoder(self, cfg, device: torch.device) -> nn.Module:
        return build_encoder(cfg, device)

    def build_net(self, cfg, encoder: nn.Module | None) -> Decoder:
        return Decoder(encoder.channels[CONTENT_LAYERS[0]], cfg.width)

    def stylize(self, content: ImageLike, styles: Sequence[ImageLike], config: AdaINConfig, *,
                alpha_mode: str = "white", backbone_net=None, intermediate=None) -> Stylized:
        cfg = config
        if not 0.0 <= cfg.alpha <= 1.0:
            raise GanstyleError(f"--alpha {cfg.alpha}: must be between 0 (content) and 1 (full style)")
        content_img, content_alpha = self.load_content(content, styles, cfg, alpha_mode, 8)
        if not cfg.model:
            from ganstyle.style.pretrained import ANNOUNCE_SHIPPED, describe_shipped_model

            if ANNOUNCE_SHIPPED.get():
                print(describe_shipped_model(), file=sys.stderr)
        style_imgs = [as_tensor(s, f"style {i + 1}") for i, s in enumerate(styles)]
        masks = [load_mask(m, i) for i, m in enumerate(cfg.mask)] or None
        # The network's own preserve_color matches the style's colour histogram to the content.
        result = stylize_adain(content_img, style_imgs, cfg.model or None, alpha=cfg.alpha, weights=cfg.style_blend or None,
                               preserve_color=cfg.preserve_color == "histogram", mask=masks,
                               style_size=cfg.style_size, device=cfg.device, precision=cfg.precision, tile=cfg.tile)
        if cfg.preserve_color == "luminance":
            result = color.combine_luminance(result, content_img)
        return Stylized(result, content_alpha)


ADAIN = AdaINMethod()
