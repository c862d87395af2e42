"""Translating image files with a trained run: ``ganstyle translate RUN INPUT... --out OUT``.

    translate_images("runs/digits-cyclegan", ["a.png", "more/"], "out/", direction="a2b")
    translate_images("runs/digits-munit", ["a.png"], "row.png", n_styles=6)      # one row: input + 6 styles
    translate_images("runs/digits-munit", ["a.png"], "b.png", style_ref="ref.png")  # the reference's style

Inputs are image files or folders (searched recursively); each is resized and centre-
cropped to the run's image size (or ``size``). ``out`` ending in an image suffix is one
file (one input); otherwise it is a folder that receives ``NAME.png`` per input, keeping
sub-folders of folder inputs. Existing output files are refused unless ``overwrite``,
and an input is never overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ganstyle.errors import GanstyleError
from ganstyle.io.checkpoints import latest_checkpoint, load_checkpoint, sub_state_dict
from ganstyle.io.images import IMAGE_EXTENSIONS, list_images, load_image, make_grid, save_image

DIRECTIONS = ("a2b", "b2a")


def load_translator(source: str | os.PathLike, device: str | torch.device = "cpu"):
    """(model in eval mode, checkpoint state) from a run directory (newest checkpoint) or a checkpoint stem/JSON."""
    from ganstyle.translate.trainer import build_model, split_settings

    source = Path(source)
    stem = latest_checkpoint(source / "checkpoints") if source.is_dir() else source
    if stem is None:
        raise GanstyleError(f"{source}: no checkpoint found in {source / 'checkpoints'}")
    tensors, state = load_checkpoint(stem)
    if "model" not in state or state["model"].get("name") not in ("cyclegan", "munit"):
        raise GanstyleError(f"{stem}: not a translation checkpoint (made by ganstyle translate-train)")
    cfg, model_cfg = split_settings(state["config"], str(stem))
    model = build_model(cfg.model, model_cfg, state["model"]["channels"])
    model.load_state_dict(sub_state_dict(tensors, "model"))
    return model.to(device).eval().requires_grad_(False), state


def _collect_inputs(inputs: list[str | os.PathLike]) -> list[tuple[Path, Path]]:
    """(file, output name relative to the output folder) for every input image."""
    found = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found += [(f, f.relative_to(p).with_suffix(".png")) for f in list_images(p)]
        elif p.is_file():
            found.append((p, Path(p.stem + ".png")))
        else:
            raise GanstyleError(f"{item}: no such image file or folder")
    if not found:
        raise GanstyleError("no input images given")
    return found


def _output_paths(found: list[tuple[Path, Path]], out: Path, overwrite: bool) -> list[Path]:
    inputs = {f.resolve() for f, _ in found}
    if out.suffix.lower() in IMAGE_EXTENSIONS:
        if out.is_dir():
            raise GanstyleError(f"--out {out}: is a folder, but its name asks for one image file")
        if len(found) != 1:
            raise GanstyleError(f"--out {out}: one output file for {len(found)} inputs; give a folder instead")
        paths = [out]
    else:
        if out.exists() and not out.is_dir():
            raise GanstyleError(f"--out {out}: is a file; give a folder (or an image name for a single input)")
        paths = [out / rel for _, rel in found]
        if len(set(paths)) != len(paths):
            raise GanstyleError(f"--out {out}: two inputs share a file name; translate them into separate folders")
    for p in paths:
        if p.resolve() in inputs:
            raise GanstyleError(f"--out: {p} is one of the inputs; choose another output")
        if p.is_dir():
            raise GanstyleError(f"--out: {p} is a folder where an output image goes")
        if p.exists() and not overwrite:
            raise GanstyleError(f"--out: {p} exists; pass --overwrite to replace it")
    return paths


def translate_images(run: str | os.PathLike, inputs: list[str | os.PathLike], out: str | os.PathLike, *,
                     direction: str = "a2b", n_styles: int = 1, style_ref: str | os.PathLike | None = None,
                     size: int | None = None, seed: int = 0, overwrite: bool = False,
                     device: str | torch.device = "cpu") -> list[Path]:
    """Translate every input image with the run's newest checkpoint; return the written paths.

    MUNIT runs: ``n_styles`` K > 1 writes, per input, one row of the input and K translations
    with style codes drawn from N(0, I) (``seed``); ``style_ref`` takes the style of one
    reference image of the target domain instead. CycleGAN has one translation per input.
    """
    if direction not in DIRECTIONS:
        raise GanstyleError(f"--direction: {direction!r} is not one of {', '.join(DIRECTIONS)}")
    if n_styles < 1:
        raise GanstyleError(f"--n-styles: must be at least 1, got {n_styles}")
    if style_ref is not None and n_styles > 1:
        raise GanstyleError("--style-ref and --n-styles: give one of them (a reference fixes the style)")
    model, state = load_translator(run, device)
    if model.kind != "munit" and (style_ref is not None or n_styles > 1):
        raise GanstyleError(f"--style-ref/--n-styles: {run} is a {model.kind} run; only munit runs have style codes")
    size = size or int(state["model"]["image_size"])
    if size < 8 or size % 4:
        raise GanstyleError(f"--size: {size} must be a multiple of 4 and at least 8")
    found = _collect_inputs(inputs)
    out_paths = _output_paths(found, Path(out), overwrite)
    style = None
    g = torch.Generator(device).manual_seed(seed)
    if style_ref is not None:
        ref = load_image(style_ref, size=size, channels=3)[None].to(device) * 2 - 1
        style = model.style_of(ref, "b" if direction == "a2b" else "a")
    elif model.kind == "munit":
        style = model.random_style(n_styles, device, g)
    for (src, _), dst in zip(found, out_paths):
        x = load_image(src, size=size, channels=3)[None].to(device) * 2 - 1
        if model.kind == "munit" and n_styles > 1:
            ys = model.translate(x.expand(n_styles, -1, -1, -1), direction, style=style)
            image = make_grid((torch.cat([x, ys]).cpu() + 1) / 2, nrow=n_styles + 1, padding=2)
        else:
            image = (model.translate(x, direction, style=style)[0].cpu() + 1) / 2
        dst.parent.mkdir(parents=True, exist_ok=True)
        save_image(image.clamp(0, 1), dst)
    return out_paths
