"""Gatys et al. optimisation-based style transfer.

The output image itself is optimised so that its deep features match the content image
(one layer, relu4_2) and its Gram matrices match the style image(s) (relu1_1 ... relu5_1),
with a total-variation term for smoothness. Additions over the paper that users expect:

* coarse-to-fine: optimise a small image first, upsample it, continue at the next size; the
  fine levels then need few iterations, which is what makes large outputs affordable;
* colour preservation (luminance-only transfer, or style colours matched to the content);
* several style images blended with weights; style scale relative to the output;
* L-BFGS or Adam; init from content, style or noise; intermediate images every K steps.

Every loss term is divided by the magnitude of its own target (the content features' mean
square, each style Gram's mean square), so a weight means the same thing on any backbone
and any layer: the defaults work for both VGG-19 and the random backbone.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ganstyle import torch_utils
from ganstyle.config import field
from ganstyle.errors import GanstyleError
from ganstyle.io.images import save_image
from ganstyle.style import color
from ganstyle.style.backbones import BACKBONE_CHOICES, POOLINGS, FeatureBackbone, build_backbone
from ganstyle.style.inputs import ImageLike, is_path, load_content, load_style, native_hw, output_size, resize_image
from ganstyle.style.losses import content_loss, gram_matrix, style_loss, tv_loss
from ganstyle.style.methods.base import COLOR_MODES, StyleMethod, Stylized, check_size
from ganstyle.torch_utils import PRECISIONS, autocast, resolve_device, resolve_precision

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
INITS = ("content", "style", "noise")
OPTIMIZERS = ("lbfgs", "adam")


@dataclass
class GatysConfig:
    size: int = field(512, help="long side of the output in pixels (the content's aspect ratio is kept)")
    # Defaults from benchmarks/gatys_convergence.py (README, "Gatys on a CPU"): at 512 px L-BFGS with
    # line search reached the lowest loss in the ~90 CPU-s budget (Adam was marginally ahead before
    # 60 CPU-s), and one scale kept the content better than coarse-to-fine schedules of equal cost.
    iterations: int = field(25, help="optimisation steps at the finest scale (coarser scales: see scale_iterations)")
    scales: int = field(1, help="coarse-to-fine levels, each half the size of the next (e.g. 3: size/4, size/2, size)")
    scale_iterations: list[int] = field([], help="steps per scale, coarsest first (default: 'iterations' at every scale)")
    content_weight: float = field(1.0, help="weight of the content loss (relative to its target's magnitude)")
    style_weight: float = field(100.0, help="weight of the style loss (relative to each Gram target's magnitude)")
    tv_weight: float = field(1.0, help="weight of the total-variation loss (smoothness)")
    content_layer: str = field("relu4_2", help="backbone layer whose features define the content")
    style_layers: list[str] = field(list(STYLE_LAYERS), help="backbone layers whose Gram matrices define the style")
    style_layer_weights: list[float] = field([], help="one weight per style layer (default: equal)")
    style_blend: list[float] = field([], help="one weight per style image (default: equal)")
    style_scale: float = field(1.0, help="style image size relative to the output (long side)")
    optimizer: str = field("lbfgs", help="lbfgs (line search; the best loss per CPU-second) or adam (cheaper, "
                           "steadier steps)", choices=OPTIMIZERS)
    lr: float = field(0.0, help="learning rate (default: 0.03 for adam on [0,1] pixels, 1.0 for lbfgs)")
    init: str = field("content", help="starting image", choices=INITS)
    preserve_color: str = field("none", help="keep the content's colours: luminance-only transfer, or match the style's colour histogram to the content", choices=COLOR_MODES)
    backbone: str = field("auto", help="feature network: vgg19, vgg16, vgg19-caffe (need weights), random (no download) or auto", choices=BACKBONE_CHOICES)
    weights: str | None = field(None, help="local VGG-19 weights file (.pth or .safetensors)")
    pooling: str = field("avg", help="pooling in the backbone (avg gives smoother results)", choices=POOLINGS)
    save_every: int = field(0, help="write the current image every K steps (0: never)")
    seed: int = field(0, help="random seed (noise init, random backbone)")
    device: str = field("auto", help="auto, cpu, cuda or cuda:N")
    precision: str = field("auto", help="auto = bf16 where the hardware runs it natively, else fp32; fp16 needs CUDA", choices=PRECISIONS)
    progress: bool = field(True, help="show a progress bar with the losses")


@dataclass
class GatysResult:
    image: torch.Tensor  # (3, H, W) in [0, 1], on CPU
    history: list[dict]  # one row per step: scale, step, content, style, tv, total
    seconds: float
    sizes: list[tuple[int, int]]


# ---------------------------------------------------------------------------- sizes and memory


def scale_sizes(full: tuple[int, int], scales: int) -> list[tuple[int, int]]:
    """Sizes coarsest first; each level halves, none smaller than 32 px on the short side."""
    sizes = [full]
    for _ in range(scales - 1):
        h, w = sizes[0]
        if min(h, w) // 2 < 32:
            break
        sizes.insert(0, (h // 2, w // 2))
    return sizes


def estimate_peak_bytes(backbone: FeatureBackbone, hw: tuple[int, int], layers: Sequence[str],
                        precision: str = "fp32") -> int:
    """Peak memory of one optimisation step at ``hw``: every activation is kept for the backward
    pass, the backward pass holds a fraction more in gradients, plus the image, the
    optimiser's state and the backbone's weights. Checked against measured peaks in
    benchmarks/style_speed.py."""
    # Autocast on CPU keeps fp32 copies next to the bf16 activations, so no saving is assumed.
    del precision
    acts = backbone.activation_bytes(hw[0], hw[1], layers, bytes_per_value=4)
    weights = sum(p.numel() * p.element_size() for p in backbone.parameters())
    image = 3 * hw[0] * hw[1] * 4
    # Measured peaks (growth of the resident set, fp32 and bf16) stay below this at 256-512 px.
    framework = 256 * 2**20  # allocator slack, autograd bookkeeping, style targets
    return int(acts * 1.5) + image * 30 + weights + framework


def check_memory(backbone: FeatureBackbone, hw: tuple[int, int], layers: Sequence[str], device: torch.device,
                 precision: str = "fp32", flag: str = "--size") -> None:
    need = estimate_peak_bytes(backbone, hw, layers, precision)
    have = torch_utils.available_memory(device, unknown=1 << 50)
    if need > 0.85 * have:
        gib = 1024**3
        raise GanstyleError(
            f"{flag}: a {hw[1]}x{hw[0]} output needs about {need / gib:.1f} GiB for the {backbone.name} "
            f"backbone but only {have / gib:.1f} GiB is available on {device.type}; use a smaller {flag}"
            f" (with --scales to reach it coarse-to-fine) or a device with more memory"
        )


# ---------------------------------------------------------------------------- helpers


MIN_SIDE = 16  # relu5_1 sits four poolings deep


def _check_min_side(hw: tuple[int, int], flag: str, what: str) -> None:
    if min(hw) < MIN_SIDE:
        raise GanstyleError(f"{flag}: the {what} would be {hw[1]}x{hw[0]} pixels; its shorter side must be "
                            f"at least {MIN_SIDE} (use a larger {flag} or a less elongated image)")


def _normalised_weights(values: Sequence[float], n: int, what: str) -> list[float]:
    if not values:
        return [1.0 / n] * n
    if len(values) != n:
        raise GanstyleError(f"--{what}: got {len(values)} weight(s) for {n} item(s)")
    if any(v < 0 for v in values) or sum(values) <= 0:
        raise GanstyleError(f"--{what}: weights must be >= 0 and not all zero")
    total = float(sum(values))
    return [float(v) / total for v in values]


def validate_config(cfg: GatysConfig, n_styles: int) -> None:
    check_size(cfg.size, MIN_SIDE)
    if cfg.iterations < 0:
        raise GanstyleError("--iterations must be >= 0")
    if cfg.scales < 1:
        raise GanstyleError("--scales must be >= 1")
    if cfg.style_scale <= 0:
        raise GanstyleError("--style-scale must be > 0")
    for name in ("content_weight", "style_weight", "tv_weight"):
        if getattr(cfg, name) < 0:
            raise GanstyleError(f"--{name.replace('_', '-')} must be >= 0")
    if n_styles < 1:
        raise GanstyleError("give at least one style image")
    _normalised_weights(cfg.style_blend, n_styles, "style-blend")
    _normalised_weights(cfg.style_layer_weights, len(cfg.style_layers), "style-layer-weights")
    if cfg.save_every < 0:
        raise GanstyleError("--save-every must be >= 0")


class GatysLoss:
    """Content + style + TV loss at one scale, targets computed once. Each term is relative to
    its own target's magnitude (see the module docstring)."""

    def __init__(self, net: FeatureBackbone, cfg: GatysConfig, content: torch.Tensor,
                 styles: Sequence[torch.Tensor], device: torch.device):
        self.net, self.cfg, self.device = net, cfg, device
        self.layers = list(dict.fromkeys(list(cfg.style_layers) + [cfg.content_layer]))
        net.check_layers(self.layers)
        layer_w = _normalised_weights(cfg.style_layer_weights, len(cfg.style_layers), "style-layer-weights")
        blend = _normalised_weights(cfg.style_blend, len(styles), "style-blend")
        with torch.no_grad():
            self.content_target = self._features(content.unsqueeze(0), [cfg.content_layer])[cfg.content_layer].float()
            grams = {n: 0.0 for n in cfg.style_layers}
            for style, b in zip(styles, blend):
                feats = self._features(style.unsqueeze(0), cfg.style_layers)
                for n in cfg.style_layers:
                    grams[n] = grams[n] + b * gram_matrix(feats[n])
        self.gram_targets = grams
        self.content_scale = 1.0 / self.content_target.pow(2).mean().clamp_min(1e-12).item()
        self.style_scales = {n: w / grams[n].pow(2).mean().clamp_min(1e-20).item()
                             for n, w in zip(cfg.style_layers, layer_w)}
        # TV relative to the content's own: weight 1 allows about as much detail as the photo has.
        self.tv_scale = 1.0 / tv_loss(content).clamp_min(1e-6).item()

    def _features(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        with autocast(self.device, self.cfg.precision):
            return self.net(x, layers)

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        feats = self._features(image, self.layers)
        c = content_loss(feats[self.cfg.content_layer], self.content_target) * self.content_scale
        s = style_loss(feats, self.gram_targets, self.style_scales)
        t = tv_loss(image) * self.tv_scale
        total = self.cfg.content_weight * c + self.cfg.style_weight * s + self.cfg.tv_weight * t
        parts = {"content": c.detach().item(), "style": float(s.detach()), "tv": t.detach().item(),
                 "total": total.detach().item()}
        return total, parts


def _initial_image(cfg: GatysConfig, content: torch.Tensor, styles: Sequence[torch.Tensor],
                   generator: torch.Generator) -> torch.Tensor:
    if cfg.init == "content":
        return content.clone()
    if cfg.init == "style":
        return resize_image(styles[0], tuple(content.shape[-2:]))
    noise = torch.rand(content.shape, generator=generator)
    return (0.5 + 0.25 * (noise - 0.5)).to(content)  # soft grey noise: no saturated pixels to undo


# ---------------------------------------------------------------------------- main loop


def run_gatys(content: torch.Tensor, styles: Sequence[torch.Tensor], config: GatysConfig | None = None, *,
              backbone: FeatureBackbone | None = None, intermediate: str | os.PathLike | None = None,
              callback: Callable[[int, int, torch.Tensor, dict], None] | None = None, **overrides) -> GatysResult:
    """Stylise ``content`` (3, H, W in [0, 1], any size) with ``styles`` (list of (3, h, w)).

    The output's long side is ``config.size``. ``intermediate`` is a path prefix for images
    written every ``save_every`` steps (``PREFIX_s<scale>_<step>.png``); ``callback(scale,
    step, image, losses)`` is called after every step.
    """
    cfg = dataclasses.replace(config or GatysConfig(), **overrides)
    styles = list(styles)
    validate_config(cfg, len(styles))
    for i, img in enumerate([content] + styles):
        if img.dim() != 3 or img.shape[0] != 3:
            what = "content" if i == 0 else f"style {i}"
            raise GanstyleError(f"{what} image must be a (3, H, W) tensor, got shape {tuple(img.shape)}")
    device = resolve_device(cfg.device)
    cfg.precision = resolve_precision(cfg.precision, device, warn=lambda m: print(m, file=sys.stderr))
    net = backbone if backbone is not None else build_backbone(
        cfg.backbone, cfg.weights, pooling=cfg.pooling, seed=cfg.seed, device=device)
    net = net.to(device)
    layers = list(dict.fromkeys(list(cfg.style_layers) + [cfg.content_layer]))
    net.check_layers(layers)

    full = output_size(tuple(content.shape[-2:]), cfg.size)
    _check_min_side(full, "--size", "output")
    sizes = scale_sizes(full, cfg.scales)
    check_memory(net, full, layers, device, cfg.precision)
    if cfg.scale_iterations and len(cfg.scale_iterations) != len(sizes):
        raise GanstyleError(f"--scale-iterations: got {len(cfg.scale_iterations)} value(s) for {len(sizes)} scale(s)")
    steps_per_scale = list(cfg.scale_iterations) or [cfg.iterations] * len(sizes)

    content = content.float().cpu()
    styles = [s.float().cpu() for s in styles]
    full_content = resize_image(content, full)
    if cfg.preserve_color == "histogram":
        styles = [color.match_color_histogram(s, full_content) for s in styles]
    elif cfg.preserve_color == "luminance":
        styles = [color.match_luminance(s, full_content) for s in styles]
        content = color.gray3(content)

    generator = torch.Generator().manual_seed(cfg.seed)
    history: list[dict] = []
    start = time.perf_counter()
    image = None
    total_steps = sum(steps_per_scale)
    bar = None
    if cfg.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, desc="gatys", unit="it", file=sys.stderr, dynamic_ncols=True)
    try:
        for level, (hw, steps) in enumerate(zip(sizes, steps_per_scale)):
            c_img = resize_image(content, hw).to(device)
            long_side = max(1, round(max(hw) * cfg.style_scale))
            s_imgs = []
            for s in styles:
                s_hw = output_size(tuple(s.shape[-2:]), long_side)
                _check_min_side(s_hw, "--style-scale", "style image")
                s_imgs.append(resize_image(s, s_hw).to(device))
            objective = GatysLoss(net, cfg, c_img, s_imgs, device)
            if image is None:
                image = _initial_image(cfg, c_img.cpu(), [s.cpu() for s in s_imgs], generator).to(device)
            else:
                image = resize_image(image, hw)
            image = _optimise(objective, image.unsqueeze(0), cfg, steps, level, history, bar, intermediate,
                              callback).detach()[0]
    finally:
        if bar is not None:
            bar.close()
    result = image.detach().float().cpu().clamp(0, 1)
    if cfg.preserve_color == "luminance":
        result = color.combine_luminance(result, full_content)
    return GatysResult(result, history, time.perf_counter() - start, sizes)


def _optimise(objective: GatysLoss, image: torch.Tensor, cfg: GatysConfig, steps: int, level: int,
              history: list[dict], bar, intermediate, callback) -> torch.Tensor:
    image = image.detach().clone().requires_grad_(True)
    if steps == 0:
        return image

    def new_lbfgs() -> torch.optim.LBFGS:
        # The strong-Wolfe line search picks each step's length, so a bad curvature estimate
        # cannot blow the image up (the divergence seen with fixed unit steps).
        return torch.optim.LBFGS([image], lr=cfg.lr or 1.0, max_iter=1, history_size=50,
                                 tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe")

    opt = torch.optim.Adam([image], lr=cfg.lr or 0.03) if cfg.optimizer == "adam" else new_lbfgs()
    last: dict[str, float] = {}

    lbfgs = cfg.optimizer == "lbfgs"

    def closure():
        opt.zero_grad(set_to_none=True)
        loss, parts = objective(image)
        if lbfgs:
            # L-BFGS's curvature pairs break if the step is clamped behind its back, so the
            # [0, 1] range is a smooth penalty there instead.
            loss = loss + 1e3 * (F.relu(image - 1).pow(2).mean() + F.relu(-image).pow(2).mean())
        loss.backward()
        last.clear()
        last.update(parts)
        return loss

    for step in range(1, steps + 1):
        opt.step(closure)
        if lbfgs and opt.state[image].get("t", 1.0) == 0:
            # The line search found no decrease along the quasi-Newton direction (its curvature
            # pairs no longer describe this region): start again from steepest descent.
            opt = new_lbfgs()
        if not lbfgs:
            with torch.no_grad():
                image.clamp_(0, 1)
        if not all(math.isfinite(v) for v in last.values()):
            raise GanstyleError("the optimisation diverged (non-finite loss); lower --lr or use --optimizer adam")
        history.append({"scale": level, "step": step, **last})
        if bar is not None:
            bar.update(1)
            bar.set_postfix(scale=level, content=f"{last['content']:.3g}", style=f"{last['style']:.3g}",
                            tv=f"{last['tv']:.2g}", refresh=False)
        if cfg.save_every and intermediate is not None and step % cfg.save_every == 0:
            save_image(image.detach()[0].float().cpu(), f"{intermediate}_s{level}_{step:05d}.png")
        if callback is not None:
            callback(level, step, image.detach(), last)
    with torch.no_grad():
        image.clamp_(0, 1)
    return image


# ---------------------------------------------------------------------------- the method


class GatysMethod(StyleMethod):
    name = "gatys"
    summary = "optimise the image itself (any style, best quality, minutes)"
    config_class = GatysConfig

    def stylize(self, content: ImageLike, styles: Sequence[ImageLike], config: GatysConfig, *,
                alpha_mode: str = "white", backbone_net: FeatureBackbone | None = None,
                intermediate: str | None = None) -> Stylized:
        cfg = config
        validate_config(cfg, len(styles))
        device = resolve_device(cfg.device)
        backbone = backbone_net
        if backbone is None:
            backbone = build_backbone(cfg.backbone, cfg.weights, pooling=cfg.pooling, seed=cfg.seed, device=device)
        layers = list(dict.fromkeys(list(cfg.style_layers) + [cfg.content_layer]))
        # Refuse an output too large for memory before any image is decoded at that size.
        check_memory(backbone, output_size(native_hw(content), cfg.size), layers, device, cfg.precision, flag="--size")
        style_long = max(8, round(cfg.size * cfg.style_scale))
        for s in styles:
            check_memory(backbone, output_size(native_hw(s), style_long), layers, device, cfg.precision,
                         flag="--style-scale")
        content_img, content_alpha = load_content(content, alpha_mode, cfg.size)
        style_imgs = [load_style(s, i, style_long if is_path(s) else None) for i, s in enumerate(styles)]
        result = run_gatys(content_img, style_imgs, cfg, backbone=backbone, intermediate=intermediate)
        return Stylized(result.image, content_alpha)
