"""Two unpaired image domains for translation: two folders, or the built-in ``digits`` pair.

:func:`load_domains` returns a :class:`DomainPair`: images of domain A and of domain B as
float32 (N, 3, S, S) in [-1, 1], with digit labels where they are known. Labels are kept
for measurement only; the translation trainers never read them.

The built-in pair ``digits`` is the classic MNIST → MNIST-M shift without a download:

- domain A: scikit-learn's bundled handwritten digits, upscaled, grey (replicated to RGB);
- domain B: *other* digits of the same set, blended over random crops of colour photos
  that ship with matplotlib (and scikit-image when it is installed), as MNIST-M does:
  ``|photo - digit|`` per channel, so strokes invert the photo's colours.

The 1797 digits are split by a fixed, stratified permutation into A, B and a held-out
A-test set, so A and B never share a digit image (the pair is unpaired), and the
measurement inputs were seen by neither the translator nor the classifiers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganstyle.errors import GanstyleError

BUILTIN_PAIRS = ("digits",)
# Share of each digit class held out from both domains, for measuring translations.
TEST_FRACTION = 0.15


@dataclass
class DomainPair:
    """Images of two domains, (N, 3, S, S) in [-1, 1]; labels only for measurement."""

    name: str
    a: torch.Tensor
    b: torch.Tensor
    a_labels: torch.Tensor | None = None
    b_labels: torch.Tensor | None = None
    a_test: torch.Tensor | None = None
    a_test_labels: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)

    @property
    def image_size(self) -> int:
        return int(self.a.shape[-1])


# ------------------------------------------------------------------ two folders


def load_domain_folder(path: str | os.PathLike, image_size: int, flag: str) -> torch.Tensor:
    """Every image under ``path`` (recursive, any mode) as RGB (N, 3, S, S) in [-1, 1].

    Decoding goes through :func:`ganstyle.data.folder.load_folder`, so broken files and
    odd modes are handled as for ``--data folder:``; errors name the flag and the folder.
    """
    from ganstyle.data.folder import load_folder

    root = Path(path).expanduser()
    if not root.exists():
        raise GanstyleError(f"{flag} {path}: no such folder")
    if not root.is_dir():
        raise GanstyleError(f"{flag} {path}: not a folder")
    try:
        return load_folder(root, image_size=image_size, channels=3).x
    except GanstyleError as exc:
        raise GanstyleError(f"{flag}: {exc}") from None


# ------------------------------------------------------------------ the digits pair


def photo_sources() -> list[tuple[str, np.ndarray]]:
    """(name, HxWx3 uint8) colour photos bundled with matplotlib and, if installed, scikit-image."""
    from PIL import Image
    import matplotlib.cbook as cbook

    photos = []
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photos.append(("matplotlib:grace_hopper", np.asarray(Image.open(f).convert("RGB"))))
    try:
        import skimage.data as skdata
    except ImportError:
        return photos
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        try:
            img = np.asarray(getattr(skdata, name)())
        except Exception:  # a data file missing from a trimmed install: use the others
            continue
        if img.ndim == 3 and img.shape[2] >= 3:
            photos.append((f"skimage:{name}", img[..., :3]))
    return photos


def random_crops(photos: list[np.ndarray], n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """``n`` random square crops (side 2-4x ``size``, resized to ``size``) in [0, 1], (n, 3, S, S)."""
    tensors = [torch.from_numpy(np.array(p, dtype=np.uint8)).permute(2, 0, 1).float() / 255 for p in photos]
    out = torch.empty(n, 3, size, size)
    which = torch.randint(len(tensors), (n,), generator=g)
    for i in range(n):
        img = tensors[int(which[i])]
        h, w = img.shape[-2:]
        side = int(torch.randint(2 * size, min(4 * size, h, w) + 1, (1,), generator=g))
        y = int(torch.randint(h - side + 1, (1,), generator=g))
        x = int(torch.randint(w - side + 1, (1,), generator=g))
        crop = img[None, :, y:y + side, x:x + side]
        out[i] = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
    return out


def blend_over_photos(digits01: torch.Tensor, crops01: torch.Tensor) -> torch.Tensor:
    """MNIST-M blending: ``|crop - digit|`` per channel; digits (N, 1, S, S) and crops in [0, 1]."""
    return (crops01 - digits01).abs()


def _split_three(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified split of indices into (A, B, A-test): test gets TEST_FRACTION, A and B halve the rest."""
    rng = np.random.default_rng(seed)
    a, b, test = [], [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        k = int(round(len(idx) * TEST_FRACTION))
        rest = idx[k:]
        test.extend(idx[:k])
        a.extend(rest[: len(rest) // 2])
        b.extend(rest[len(rest) // 2:])
    return np.sort(a), np.sort(b), np.sort(test)


def digits_pair(image_size: int = 32, seed: int = 0) -> DomainPair:
    """Grey digits (A) and coloured digits over photo crops (B), built from disjoint digit images."""
    from ganstyle.data.digits import digits_arrays

    images, labels = digits_arrays()
    x = torch.from_numpy(images / 16.0)[:, None]
    x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False).clamp(0, 1)
    ia, ib, it = _split_three(labels, seed)
    g = torch.Generator().manual_seed(seed)
    sources = photo_sources()
    crops = random_crops([p for _, p in sources], len(ib), image_size, g)
    b = blend_over_photos(x[ib], crops)
    grey = lambda t: t.repeat(1, 3, 1, 1) * 2 - 1  # noqa: E731
    y = torch.from_numpy(labels)
    return DomainPair(name="digits", a=grey(x[ia]), b=b * 2 - 1, a_labels=y[ia], b_labels=y[ib],
                      a_test=grey(x[it]), a_test_labels=y[it],
                      meta={"photos": [name for name, _ in sources], "n_a": len(ia), "n_b": len(ib), "n_a_test": len(it)})


def load_domains(domain_a: str, domain_b: str | None = None, image_size: int = 32, seed: int = 0) -> DomainPair:
    """``("digits", None)`` -> the built-in pair; ``(DIR_A, DIR_B)`` -> two folders."""
    if image_size < 8 or image_size % 4:
        raise GanstyleError(f"--image-size: {image_size} must be a multiple of 4 and at least 8 (the generators halve it twice)")
    if domain_a in BUILTIN_PAIRS:
        if domain_b not in (None, "", domain_a):
            raise GanstyleError(f"--domain-a {domain_a} is a built-in pair; leave out --domain-b")
        return digits_pair(image_size, seed)
    if not domain_b:
        raise GanstyleError(f"--domain-b: missing; give two folders, or --domain-a {BUILTIN_PAIRS[0]} for the built-in pair")
    a = load_domain_folder(domain_a, image_size, "--domain-a")
    b = load_domain_folder(domain_b, image_size, "--domain-b")
    return DomainPair(name=f"{Path(domain_a).name}2{Path(domain_b).name}", a=a, b=b,
                      meta={"domain_a": str(domain_a), "domain_b": str(domain_b), "n_a": len(a), "n_b": len(b)})
