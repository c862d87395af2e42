"""``ganstyle.stylize``: one entry point for the three style-transfer methods.

``gatys`` optimises the image (slow, any style, best quality); ``fast`` runs a network
trained for one style; ``adain`` runs an arbitrary-style network. Inputs are file paths or
(3, H, W) tensors in [0, 1]; with ``out`` the result is written (atomically) and its path
returned, otherwise the tensor is returned.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import torch

from ganstyle.errors import GanstyleError
from ganstyle.io.images import image_to_array, open_image, resize_long_side, save_image
from ganstyle.style import color

METHODS = ("gatys", "fast", "adain")
ALPHA_MODES = ("white", "black", "drop", "keep")
ImageLike = str | os.PathLike | torch.Tensor


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _check_not_input(out: Path, inputs: Sequence[ImageLike]) -> None:
    target = out.expanduser().resolve()
    for x in inputs:
        if _is_path(x) and Path(x).expanduser().resolve() == target:
            raise GanstyleError(f"--out {out}: refusing to overwrite the input image {x}; choose another output path")


def _open(path: ImageLike):
    return open_image(path)


def _image_tensor(img, path, *, channels: int = 3, alpha: str = "white") -> torch.Tensor:
    arr = image_to_array(img, channels=channels, alpha=alpha if channels == 3 or alpha == "keep" else "white", path=path)
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def _as_tensor(x: ImageLike, what: str) -> torch.Tensor:
    if _is_path(x):
        return _image_tensor(_open(x), x)
    if isinstance(x, torch.Tensor):
        t = x.detach().float().cpu()
        if t.dim() == 4 and t.shape[0] == 1:
            t = t[0]
        if t.dim() != 3 or t.shape[0] not in (1, 3):
            raise GanstyleError(f"{what}: expected an image tensor (3, H, W) in [0, 1], got shape {tuple(x.shape)}")
        return t.expand(3, -1, -1).clamp(0, 1) if t.shape[0] == 1 else t.clamp(0, 1)
    raise GanstyleError(f"{what}: expected a file path or a tensor, got {type(x).__name__}")


def _split_options(cls, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in options.items() if k in names}, {k: v for k, v in options.items() if k not in names}


def stylize(content: ImageLike, styles: ImageLike | Sequence[ImageLike] = (), method: str = "gatys",
            out: str | os.PathLike | None = None, **options) -> torch.Tensor | Path:
    """Stylise ``content`` with ``styles`` (one or a list); returns the image or the written path.

    Options by method:

    * ``gatys``: any :class:`ganstyle.style.gatys.GatysConfig` field (``size``, ``iterations``,
      ``style_weight``, ``scales``, ``preserve_color`` = none/luminance/histogram, ...), plus
      ``backbone_net`` (a ready backbone) and ``intermediate`` (prefix for ``save_every`` images).
    * ``fast``: ``model`` (the trained model's folder), ``size`` (long side; default: as is),
      ``preserve_color``, ``device``, ``precision``, ``tile``.
    * ``adain``: ``model``, ``alpha`` (style strength 0..1), ``style_blend`` (weights),
      ``preserve_color``, ``mask``, ``size``, ``device``, ``precision``, ``tile``.
    * all: ``alpha_mode`` = white/black/drop (what a transparent content becomes) or ``keep``
      (stylise the colours and put the content's alpha channel back on the result).
    """
    if method not in METHODS:
        raise GanstyleError(f"--method: {method!r} is not one of {', '.join(METHODS)}")
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if method != "fast" and not style_list:
        raise GanstyleError(f"--method {method} needs at least one style image")
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        _check_not_input(out_path, [content] + style_list)
        if out_path.exists() and out_path.is_dir():
            raise GanstyleError(f"--out {out_path}: is a folder; give an image file name such as out.png")
    alpha_mode = options.pop("alpha_mode", "white")
    if alpha_mode not in ALPHA_MODES:
        raise GanstyleError(f"alpha_mode: {alpha_mode!r} is not one of {', '.join(ALPHA_MODES)}")

    if method == "gatys":
        result, content_alpha = _stylize_gatys(content, style_list, alpha_mode, options)
    else:
        result, content_alpha = _stylize_network(method, content, style_list, alpha_mode, options)

    if content_alpha is not None:
        alpha = torch.nn.functional.interpolate(content_alpha[None], size=result.shape[-2:], mode="bilinear",
                                                align_corners=False)[0].clamp(0, 1)
        result = torch.cat([result, alpha], dim=0)
    if out_path is None:
        return result
    if content_alpha is not None and out_path.suffix.lower() in (".jpg", ".jpeg"):
        raise GanstyleError(f"--out {out_path}: JPEG cannot store the kept alpha channel; use .png")
    try:
        return save_image(result, out_path)
    except OSError as exc:
        raise GanstyleError(f"--out {out_path}: cannot write the image ({exc.strerror or exc})") from None


def _load_content(content: ImageLike, alpha_mode: str, long_side: int | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Content as (3, H, W) (+ its alpha when kept), resized to ``long_side`` if given."""
    if not _is_path(content):
        t = content if isinstance(content, torch.Tensor) else None
        alpha = None
        if t is not None and t.dim() == 3 and t.shape[0] == 4:
            alpha = t[3:].float().cpu() if alpha_mode == "keep" else None
            rgb, a = t[:3].float().cpu(), t[3:].float().cpu()
            if alpha_mode in ("white", "black"):
                bg = 1.0 if alpha_mode == "white" else 0.0
                rgb = rgb * a + bg * (1 - a)
            t = rgb
        img = _as_tensor(t if t is not None else content, "content")
        if long_side is not None and max(img.shape[-2:]) != long_side:
            from ganstyle.style.gatys import _resize, output_size

            img = _resize(img, output_size(tuple(img.shape[-2:]), long_side))
        return img, alpha
    pil = _open(content)
    if long_side is not None:
        pil = resize_long_side(pil, long_side)
    has_alpha = pil.mode in ("LA", "RGBA")
    if alpha_mode == "keep" and has_alpha:
        rgba = _image_tensor(pil, content, channels=4, alpha="keep")
        return rgba[:3], rgba[3:]
    return _image_tensor(pil, content, alpha=alpha_mode), None


def _native_hw(x: ImageLike) -> tuple[int, int]:
    if _is_path(x):
        img = _open(x)
        return img.height, img.width
    if isinstance(x, torch.Tensor):
        return tuple(x.shape[-2:])
    raise GanstyleError(f"expected a file path or a tensor, got {type(x).__name__}")


def _stylize_gatys(content, styles, alpha_mode, options) -> tuple[torch.Tensor, torch.Tensor | None]:
    from ganstyle.config import from_dict
    from ganstyle.style.backbones import build_backbone
    from ganstyle.style.gatys import GatysConfig, check_memory, output_size, run_gatys, validate_config
    from ganstyle.torch_utils import resolve_device

    backbone = options.pop("backbone_net", None)
    intermediate = options.pop("intermediate", None)
    fields, unknown = _split_options(GatysConfig, options)
    if unknown:
        raise GanstyleError(f"stylize(method='gatys'): unknown option(s) {', '.join(sorted(unknown))}")
    cfg = from_dict(GatysConfig, fields, source="stylize options")
    validate_config(cfg, len(styles))
    device = resolve_device(cfg.device)
    if backbone is None:
        backbone = build_backbone(cfg.backbone, cfg.weights, pooling=cfg.pooling, seed=cfg.seed, device=device)
    layers = list(dict.fromkeys(list(cfg.style_layers) + [cfg.content_layer]))
    # Refuse an output too large for memory before any image is decoded at that size.
    hw = output_size(_native_hw(content), cfg.size)
    check_memory(backbone, hw, layers, device, cfg.precision, flag="--size")
    style_long = max(8, round(cfg.size * cfg.style_scale))
    for s in styles:
        check_memory(backbone, output_size(_native_hw(s), style_long), layers, device, cfg.precision,
                     flag="--style-scale")
    content_img, content_alpha = _load_content(content, alpha_mode, cfg.size)
    style_imgs = []
    for i, s in enumerate(styles):
        if _is_path(s):
            style_imgs.append(_image_tensor(resize_long_side(_open(s), style_long), s))
        else:
            style_imgs.append(_as_tensor(s, f"style {i + 1}"))
    result = run_gatys(content_img, style_imgs, cfg, backbone=backbone, intermediate=intermediate)
    return result.image, content_alpha


def _stylize_network(method, content, styles, alpha_mode, options) -> tuple[torch.Tensor, torch.Tensor | None]:
    model = options.pop("model", None)
    if model is None and method == "adain":
        from ganstyle.style.pretrained import describe_shipped_model

        print(describe_shipped_model(), file=sys.stderr)
    elif model is None:
        raise GanstyleError(f"--method {method} needs --model MODEL_DIR (a model trained with 'ganstyle train-style')")
    size = options.pop("size", None)
    preserve = options.pop("preserve_color", False)
    preserve = "luminance" if preserve is True else ("none" if preserve in (False, None) else preserve)
    if preserve not in ("none", "luminance", "histogram"):
        raise GanstyleError(f"--preserve-color: {preserve!r} is not one of none, luminance, histogram")
    run_opts = {k: options.pop(k) for k in ("device", "precision", "tile") if k in options}
    content_img, content_alpha = _load_content(content, alpha_mode, size)
    if method == "fast":
        if options:
            raise GanstyleError(f"stylize(method='fast'): unknown option(s) {', '.join(sorted(options))}")
        if styles:
            raise GanstyleError("--method fast uses the style the model was trained on; give no style image")
        from ganstyle.style.fast import stylize_fast

        result = stylize_fast(content_img, model, **run_opts)
        if preserve != "none":
            # The style is baked into the network, so only the luminance-only variant applies.
            result = color.combine_luminance(result, content_img)
        return result, content_alpha

    alpha = float(options.pop("alpha", 1.0))
    weights = options.pop("style_blend", None) or None
    mask = options.pop("mask", None)
    style_size = options.pop("style_size", 512)
    if options:
        raise GanstyleError(f"stylize(method='adain'): unknown option(s) {', '.join(sorted(options))}")
    if not 0.0 <= alpha <= 1.0:
        raise GanstyleError(f"--alpha: {alpha} must be between 0 and 1")
    style_imgs = [_as_tensor(s, f"style {i + 1}") for i, s in enumerate(styles)]
    if mask is not None:
        masks = mask if isinstance(mask, (list, tuple)) else [mask]
        mask = [_as_mask(m, i) for i, m in enumerate(masks)]
    from ganstyle.style.adain import stylize_adain

    # The network's own preserve_color matches the style's colour histogram to the content.
    result = stylize_adain(content_img, style_imgs, model, alpha=alpha, weights=weights,
                           preserve_color=preserve == "histogram", mask=mask, style_size=style_size, **run_opts)
    if preserve == "luminance":
        result = color.combine_luminance(result, content_img)
    return result, content_alpha


def _as_mask(m: ImageLike, i: int) -> torch.Tensor:
    """A mask file (any image, its luminance) or tensor -> (H, W) in [0, 1]."""
    if _is_path(m):
        return _image_tensor(_open(m), m, channels=1)[0]
    t = torch.as_tensor(m).float()
    return t.reshape(t.shape[-2:]) if t.dim() > 2 else t
