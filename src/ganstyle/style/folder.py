"""Stylise every photo in a folder in one call: the network is loaded once, each result written
as ``OUT_DIR/<relative path>.png``. Backs ``ganstyle stylize photos/ painting.jpg --out out/``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

from ganstyle.errors import GanstyleError


def stylize_folder(content_dir: str | os.PathLike, styles: Sequence[str | os.PathLike] = (), *,
                   out: str | os.PathLike, method: str = "adain", overwrite: bool = False,
                   **options) -> list[Path]:
    """Stylise each image under ``content_dir``; returns the written paths (same order as the inputs).

    ``options`` are those of :func:`ganstyle.style.api.stylize` for ``method``. An existing output
    file is refused before any work unless ``overwrite``; an input is never overwritten.
    """
    from ganstyle.io.images import list_images
    from ganstyle.style.api import stylize

    from ganstyle.io.images import IMAGE_EXTENSIONS

    content_dir, out_dir = Path(content_dir), Path(out)
    if (out_dir.exists() and not out_dir.is_dir()) or (not out_dir.exists() and out_dir.suffix.lower() in IMAGE_EXTENSIONS):
        raise GanstyleError(f"{content_dir}: is a folder, so --out must name a folder for the results, not {out_dir}")
    files = list_images(content_dir)
    targets = [out_dir / f.relative_to(content_dir).with_suffix(".png") for f in files]
    inputs = {p.resolve() for p in files} | {Path(s).resolve() for s in styles}
    for t in targets:
        if t.resolve() in inputs:
            raise GanstyleError(f"--out {out_dir}: would overwrite the input image {t}; choose another folder")
        if t.exists() and not overwrite:
            raise GanstyleError(f"--out {out_dir}: {t.name} already exists; pass --overwrite to replace it")
    quiet = None
    if method == "adain" and options.get("model") is None:
        from ganstyle.style.pretrained import ANNOUNCE_SHIPPED, describe_shipped_model

        print(describe_shipped_model(), file=sys.stderr)  # once, not once per photo (the model loads once too)
        quiet = ANNOUNCE_SHIPPED.set(False)
    written = []
    try:
        for f, t in zip(files, targets):
            t.parent.mkdir(parents=True, exist_ok=True)
            written.append(stylize(f, list(styles), method=method, out=t, **options))
    finally:
        if quiet is not None:
            ANNOUNCE_SHIPPED.reset(quiet)
    return written
