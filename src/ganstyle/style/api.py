"""``ganstyle.stylize``: one entry point for every registered style method.

``gatys`` optimises the image (slow, any style, best quality); ``fast`` runs a network
trained for one style; ``adain`` runs an arbitrary-style network (see
``ganstyle.style.methods``). Inputs are file paths or (3, H, W) tensors in [0, 1]; with
``out`` the result is written (atomically) and its path returned, otherwise the tensor.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Sequence

import torch

from ganstyle.config import from_dict
from ganstyle.errors import GanstyleError
from ganstyle.io.images import save_image
from ganstyle.style.inputs import ALPHA_MODES, ImageLike, is_path
from ganstyle.style.methods import METHODS, get_method

# What save_image writes; a kept alpha channel needs one of the formats that stores it.
OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
ALPHA_SUFFIXES = (".png", ".webp", ".tif", ".tiff")


def _same_file(a: Path, b: Path) -> bool:
    # realpath, unlike Path.resolve, does not raise on a symlink loop; opening the loop names it later.
    return os.path.realpath(os.path.expanduser(a)) == os.path.realpath(os.path.expanduser(b))


def check_output(out: str | os.PathLike, inputs: Sequence[Any] = (), *, overwrite: bool = False,
                 suffixes: Sequence[str] | None = OUTPUT_SUFFIXES, keep_alpha: bool = False, flag: str = "--out") -> Path:
    """Refuse an output file path before any work (the overwrite rule): one of the inputs, a
    folder, a suffix not in ``suffixes`` (None: any; or one without alpha when ``keep_alpha``), an existing
    file without ``overwrite``, or a folder that cannot be written."""
    out = Path(out)
    for x in inputs:
        if is_path(x) and _same_file(Path(x), out):
            raise GanstyleError(f"{flag} {out}: refusing to overwrite the input {x}; choose another output path")
    if out.is_dir():
        raise GanstyleError(f"{flag} {out}: is a folder; give a file name such as out{(suffixes or ('',))[0]}")
    suffix = out.suffix.lower()
    if suffixes is not None and suffix not in suffixes:
        raise GanstyleError(f"{flag} {out}: cannot write {out.suffix or 'a file without extension'!r} files; "
                            f"use {', '.join(suffixes)}")
    if keep_alpha and suffix not in ALPHA_SUFFIXES:
        raise GanstyleError(f"{flag} {out}: {suffix} cannot store the kept alpha channel; use .png")
    if out.exists() and not overwrite:
        raise GanstyleError(f"{flag} {out}: file exists; pass --overwrite to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise GanstyleError(f"{flag} {out}: cannot write the file (folder {parent} does not exist)")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise GanstyleError(f"{flag} {out}: cannot write the file (permission denied)")
    return out


def method_config(method: str, config: Any = None, overrides: dict[str, Any] | None = None) -> Any:
    """The method's typed config: ``config`` (or the defaults) with ``overrides`` applied, checked."""
    m = METHODS[method]
    cls = m.config_class
    if config is not None and not isinstance(config, cls):
        raise GanstyleError(f"stylize(method={method!r}): config must be a {cls.__name__}, "
                            f"got {type(config).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides or {}) - set(fields))
    if unknown:
        raise GanstyleError(f"stylize(method={method!r}): unknown option(s) {', '.join(unknown)}")
    data = dataclasses.asdict(config) if config is not None else {}
    # None for a field whose default is not None means "the default" (e.g. style_blend=None).
    data.update({k: v for k, v in (overrides or {}).items() if v is not None or fields[k].default is None})
    return from_dict(cls, data, source=f"stylize --method {method}")


def stylize(content: ImageLike, styles: ImageLike | Sequence[ImageLike] = (), config: Any = None, *,
            method: str | None = None, out: str | os.PathLike | None = None, overwrite: bool = False,
            alpha_mode: str = "white", backbone_net: torch.nn.Module | None = None,
            intermediate: str | None = None, **fields) -> torch.Tensor | Path:
    """Stylise ``content`` with ``styles`` (one or a list); returns the image or the written path.

    ``config`` is the method's config (``GatysConfig``, ``FastConfig``, ``AdaINConfig``, ...);
    ``fields`` override single fields of it (``size=256, iterations=100``). ``method``
    defaults to the one ``config`` belongs to, else ``gatys``. ``alpha_mode`` = white/black/drop
    says what a transparent content becomes, ``keep`` stylises the colours and puts the
    content's alpha channel back. ``out`` must not exist unless ``overwrite``, and is never an
    input. Gatys only: ``backbone_net`` (a ready backbone) and ``intermediate`` (path prefix for
    the ``save_every`` images).
    """
    if method is None:
        method = next((n for n, m in METHODS.items() if isinstance(config, m.config_class)), "gatys")
    m = get_method(method)
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    cfg = method_config(method, config, fields)
    if alpha_mode not in ALPHA_MODES:
        raise GanstyleError(f"alpha_mode: {alpha_mode!r} is not one of {', '.join(ALPHA_MODES)}")
    m.check_styles(len(style_list))
    out_path = None
    if out is not None:
        out_path = check_output(out, [content, *style_list], overwrite=overwrite, keep_alpha=alpha_mode == "keep")

    result = m.stylize(content, style_list, cfg, alpha_mode=alpha_mode, backbone_net=backbone_net,
                       intermediate=intermediate)
    image = result.image
    if result.alpha is not None:
        alpha = torch.nn.functional.interpolate(result.alpha[None], size=image.shape[-2:], mode="bilinear",
                                                align_corners=False)[0].clamp(0, 1)
        image = torch.cat([image, alpha], dim=0)
    if out_path is None:
        return image
    try:
        return save_image(image, out_path)
    except OSError as exc:
        raise GanstyleError(f"--out {out_path}: cannot write the image ({exc.strerror or exc})") from None
