"""``folder:PATH``: every image under a folder, decoded up front into one tensor.

Images are found recursively (png, jpg, jpeg, webp, bmp), opened through
:func:`ganstyle.io.images.open_image` (any mode, EXIF orientation, broken files), resized
so the short side fits and centre-cropped to ``image_size``. Everything is decoded before
training starts, so a bad file is reported by name at once rather than as a traceback
from a data-loader worker hours later.

Labels: when every image sits in a first-level sub-folder and there are at least two of
them (``PATH/cat/*.jpg``, ``PATH/dog/*.jpg``), the sorted sub-folder names are the
classes; otherwise the set is unlabelled.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import torch

from ganstyle.data import Dataset
from ganstyle.errors import GanstyleError
from ganstyle.io.images import image_to_array, list_images, open_image, resize_center_crop

# Decoded float32 images beyond this share of RAM leave too little for the model and the OS.
MAX_RAM_FRACTION = 0.4
PROGRESS_BAR_MIN_FILES = 200


def total_memory_bytes() -> int | None:
    """Physical RAM, or None where it cannot be read."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_memory(n: int, channels: int, image_size: int, source: str) -> None:
    """Refuse, with a smaller size to try, when the decoded set would crowd out everything else."""
    ram = total_memory_bytes()
    need = n * channels * image_size * image_size * 4
    if ram is None or need <= MAX_RAM_FRACTION * ram:
        return
    budget = MAX_RAM_FRACTION * ram
    fits = [s for s in (256, 192, 128, 96, 64, 48, 32, 16) if s < image_size and n * channels * s * s * 4 <= budget]
    hint = (f"use a smaller --image-size (e.g. {fits[0]}, {_gib(n * channels * fits[0] ** 2 * 4)})"
            if fits else "use fewer images")
    raise GanstyleError(
        f"{source}: {n:,} images at {channels}x{image_size}x{image_size} need {_gib(need)} as float32, more than "
        f"{MAX_RAM_FRACTION:.0%} of this machine's {_gib(ram)} RAM; {hint}"
    )


def folder_labels(root: Path, files: list[Path]) -> tuple[list[int] | None, list[str] | None]:
    """Class index per file from first-level sub-folders, or (None, None) when unlabelled."""
    top = [f.relative_to(root).parts for f in files]
    if any(len(parts) < 2 for parts in top):
        return None, None
    class_names = sorted({parts[0] for parts in top})
    if len(class_names) < 2:
        return None, None
    index = {name: i for i, name in enumerate(class_names)}
    return [index[parts[0]] for parts in top], class_names


def load_folder(path: str | os.PathLike, image_size: int = 64, channels: int = 3, *, skip_bad: bool = False) -> Dataset:
    """All images under ``path`` as float32 (N, channels, image_size, image_size) in [-1, 1].

    A file that cannot be decoded is an error naming it; with ``skip_bad`` it is left out
    and one warning lists how many were skipped and the first few names.
    Transparent pixels are composited on white.
    """
    if channels not in (1, 3):
        raise GanstyleError(f"--channels must be 1 or 3 for folder data, got {channels}")
    if image_size < 1:
        raise GanstyleError(f"--image-size must be positive, got {image_size}")
    root = Path(path).expanduser()
    files = list_images(root)
    source = f"folder:{root}"
    check_memory(len(files), channels, image_size, source)
    labels, class_names = folder_labels(root, files)

    x = torch.empty((len(files), channels, image_size, image_size), dtype=torch.float32)
    keep: list[int] = []
    bad: list[tuple[Path, str]] = []
    iterator = files
    if len(files) > PROGRESS_BAR_MIN_FILES:
        from tqdm import tqdm

        iterator = tqdm(files, desc=f"decoding {root.name or root}", unit="img", leave=False)
    for i, file in enumerate(iterator):
        try:
            img = resize_center_crop(open_image(file), image_size)
            arr = image_to_array(img, channels=channels, alpha="white", path=file)
        except GanstyleError as exc:
            if not skip_bad:
                raise
            bad.append((file, str(exc)))
            continue
        x[len(keep)] = torch.from_numpy(arr).permute(2, 0, 1)
        keep.append(i)

    if bad:
        names = ", ".join(str(f.relative_to(root)) for f, _ in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        warnings.warn(f"{source}: skipped {len(bad)} unreadable image(s): {names}{more}", stacklevel=2)
    if not keep:
        raise GanstyleError(f"{source}: none of the {len(files)} image files could be read (first: {bad[0][1]})")
    x = (x[: len(keep)].clone() if bad else x).mul_(2.0).sub_(1.0)
    y = None
    if labels is not None:
        y = torch.tensor([labels[i] for i in keep], dtype=torch.int64)
    return Dataset(
        name=f"folder:{root}", x=x, y=y,
        num_classes=len(class_names) if class_names else None, class_names=class_names,
        meta={"files": [str(files[i]) for i in keep], "skipped": [str(f) for f, _ in bad]},
    )


GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")


def probe_folder(path: str | os.PathLike, n: int = 16) -> tuple[int, int] | None:
    """``(channels, side)`` of the images under ``path`` from ``n`` of them spread over the listing,
    without decoding the set: channels 1 when every probed image is grey (a grey mode, or RGB
    with equal bands), else 3; side is the smallest short side. None when the folder cannot be
    read (the loader then reports why). Cached while the folder's modification time is unchanged."""
    root = Path(path).expanduser().absolute()
    try:
        stamp = root.stat().st_mtime_ns
    except OSError:
        return None
    return _probe(root, stamp, n)


@functools.lru_cache(maxsize=16)
def _probe(root: Path, stamp: int, n: int) -> tuple[int, int] | None:
    import numpy as np

    try:
        files = list_images(root)
        picks = [files[i * len(files) // min(n, len(files))] for i in range(min(n, len(files)))]
        channels, side = 1, None
        for file in picks:
            img = open_image(file)
            side = min(img.size) if side is None else min(side, min(img.size))
            if img.mode not in GREY_MODES:
                bands = np.asarray(img.convert("RGB"))
                if not ((bands[..., 0] == bands[..., 1]).all() and (bands[..., 1] == bands[..., 2]).all()):
                    channels = 3
        return channels, side
    except (GanstyleError, OSError):
        return None
