"""scikit-learn's bundled handwritten digits (1797 images, 8x8, 17 grey levels): no download.

``image_size`` upsamples bilinearly with antialiasing (e.g. 16, 28, 32, 64); the values
are mapped from 0..16 to [-1, 1]. ``split`` is ``train`` (all 1797), or ``fit``/``test``,
a fixed stratified 80/20 split used to train and measure the digits classifier.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganstyle.data import Dataset
from ganstyle.errors import GanstyleError


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images.astype(np.float32), d.target.astype(np.int64)


def split_indices(labels: np.ndarray, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified split -> (fit indices, test indices)."""
    rng = np.random.default_rng(seed)
    fit, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        k = int(round(len(idx) * test_fraction))
        test.extend(idx[:k])
        fit.extend(idx[k:])
    return np.sort(np.array(fit)), np.sort(np.array(test))


def load_digits_dataset(image_size: int | None = None, channels: int | None = None, split: str = "train") -> Dataset:
    images, labels = digits_arrays()
    if split in ("fit", "test"):
        fit, test = split_indices(labels)
        sel = fit if split == "fit" else test
        images, labels = images[sel], labels[sel]
    elif split != "train":
        raise GanstyleError(f"digits: unknown split {split!r} (train, fit or test)")
    x = torch.from_numpy(images / 16.0)[:, None]  # [0, 1]
    if image_size and image_size != 8:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False,
                          antialias=image_size < 8).clamp(0, 1)
    if channels == 3:
        x = x.repeat(1, 3, 1, 1)
    elif channels not in (None, 1):
        raise GanstyleError(f"digits: channels must be 1 or 3, got {channels}")
    return Dataset(name="digits", x=x * 2 - 1, y=torch.from_numpy(labels), num_classes=10,
                   class_names=[str(i) for i in range(10)])
