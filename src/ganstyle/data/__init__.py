"""Datasets, all held in memory as tensors ready for training.

``load_dataset("ring8")``, ``load_dataset("digits", image_size=32)``,
``load_dataset("mnist")``, ``load_dataset("folder:PATH", image_size=64)`` …
return a :class:`Dataset`: images as float32 (N, C, H, W) in [-1, 1], or 2-D points
as float32 (N, 2), with integer labels where the data has classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ganstyle.errors import GanstyleError


@dataclass
class Dataset:
    """In-memory training data.

    ``x`` holds images (N, C, H, W) in [-1, 1] or points (N, D); ``y`` int64 labels or None.
    ``meta`` carries what metrics need (e.g. ``centers`` and ``std`` of a toy mixture).
    """

    name: str
    x: torch.Tensor
    y: torch.Tensor | None = None
    num_classes: int | None = None
    class_names: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "images" if self.x.dim() == 4 else "points"

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one sample."""
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return self.x.shape[0]


DATASET_NAMES = ("ring8", "grid25", "digits", "mnist", "fashion-mnist", "cifar10", "folder:PATH")


def load_dataset(
    spec: str,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    cache_dir: str | None = None,
    download: bool = True,
    n: int | None = None,
    split: str = "train",
    seed: int = 0,
) -> Dataset:
    """Load a dataset by name (see :data:`DATASET_NAMES`).

    ``image_size``/``channels`` convert images (resize, centre-crop, grey <-> RGB);
    ``n`` caps the number of samples (points: how many to draw); ``cache_dir`` and
    ``download`` apply to the downloadable sets.
    """
    name = spec.split(":", 1)[0].lower()
    if name in ("ring8", "grid25"):
        from ganstyle.data.toy2d import load_toy2d

        return load_toy2d(name, n=n or 100_000, seed=seed)
    if name == "digits":
        from ganstyle.data.digits import load_digits_dataset

        ds = load_digits_dataset(image_size=image_size, channels=channels, split=split)
    elif name in ("mnist", "fashion-mnist", "cifar10"):
        from ganstyle.data.downloads import load_download_dataset

        ds = load_download_dataset(name, image_size=image_size, channels=channels, cache_dir=cache_dir,
                                   download=download, split=split)
    elif name == "folder":
        if ":" not in spec or not spec.split(":", 1)[1]:
            raise GanstyleError("--data folder:PATH needs a path, e.g. folder:~/photos")
        from ganstyle.data.folder import load_folder

        ds = load_folder(spec.split(":", 1)[1], image_size=image_size or 64, channels=channels or 3)
    else:
        raise GanstyleError(f"--data: unknown dataset {spec!r}; choose one of {', '.join(DATASET_NAMES)}")
    if n is not None and n < len(ds):
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(ds), generator=g)[:n].sort().values
        ds.x = ds.x[idx]
        ds.y = ds.y[idx] if ds.y is not None else None
    return ds
