"""Feature statistics: streaming float64 mean/covariance and the reference-statistics cache.

The real side of FID (mean, covariance, count, and the features KID and precision/recall
need) is computed once per dataset × extractor × weights checksum and kept as ``.npz``
under the user cache dir (``$GANSTYLE_CACHE_DIR``, else ``$XDG_CACHE_HOME/ganstyle``,
else ``~/.cache/ganstyle``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganstyle.errors import GanstyleError


def default_cache_dir() -> Path:
    env = os.environ.get("GANSTYLE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "ganstyle"


class RunningStats:
    """Mean and covariance of a stream of feature batches, in float64.

    Batches are merged with Chan et al.'s pairwise update (centred sums of squares), which
    does not lose precision the way accumulating raw Σxxᵀ does when the mean is large.
    ``cov`` is the unbiased (N − 1) estimate, like ``np.cov``.
    """

    def __init__(self, dim: int | None = None):
        self.n = 0
        self.mean = None if dim is None else np.zeros(dim)
        self.m2 = None if dim is None else np.zeros((dim, dim))

    def update(self, batch) -> "RunningStats":
        b = np.asarray(batch, np.float64).reshape(len(batch), -1)
        if len(b) == 0:
            return self
        nb, mb = len(b), b.mean(axis=0)
        c = b - mb
        m2b = c.T @ c
        if self.n == 0:
            self.n, self.mean, self.m2 = nb, mb, m2b
            return self
        n = self.n + nb
        delta = mb - self.mean
        self.mean = self.mean + delta * (nb / n)
        self.m2 = self.m2 + m2b + np.outer(delta, delta) * (self.n * nb / n)
        self.n = n
        return self

    @property
    def cov(self) -> np.ndarray:
        if self.n < 2:
            raise GanstyleError("a covariance needs at least 2 samples")
        return self.m2 / (self.n - 1)


@dataclass
class FeatureSet:
    """Statistics of one side; ``features``/``logits`` kept when a metric needs them."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    features: np.ndarray | None = None
    logits: np.ndarray | None = None

    @classmethod
    def from_features(cls, features: np.ndarray, logits: np.ndarray | None = None, keep: bool = True) -> "FeatureSet":
        stats = RunningStats()
        for lo in range(0, len(features), 4096):
            stats.update(features[lo:lo + 4096])
        return cls(stats.mean, stats.cov, stats.n, features if keep else None, logits if keep else None)

    def save(self, path: str | os.PathLike, meta: dict | None = None) -> Path:
        from ganstyle.io.images import atomic_path

        arrays = {"mu": self.mu, "sigma": self.sigma, "n": np.array(self.n)}
        if self.features is not None:
            arrays["features"] = self.features
        if self.logits is not None:
            arrays["logits"] = self.logits
        if meta:
            arrays["meta"] = np.array(json.dumps(meta))
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FeatureSet":
        """A stats file: ours, or pytorch-fid's (``mu``, ``sigma``), or raw ``features``."""
        try:
            with np.load(path, allow_pickle=False) as z:
                keys = set(z.files)
                if "features" in keys and "mu" not in keys:
                    return cls.from_features(z["features"], z["logits"] if "logits" in keys else None)
                if not {"mu", "sigma"} <= keys:
                    raise GanstyleError(f"{path}: an .npz of statistics needs arrays 'mu' and 'sigma' "
                                        f"(or 'features'); it has {sorted(keys)}")
                n = int(z["n"]) if "n" in keys else 0
                return cls(z["mu"].astype(np.float64), z["sigma"].astype(np.float64), n,
                           z["features"] if "features" in keys else None, z["logits"] if "logits" in keys else None)
        except (OSError, ValueError) as exc:
            raise GanstyleError(f"cannot read statistics file {path}: {exc}") from None


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Round [-1, 1] images to the 256 levels an 8-bit file would hold.

    Real images come from 8-bit files, generated ones are continuous; quantising both the
    same way removes a difference the feature extractor would otherwise see.
    """
    return torch.round((images.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1


def tensor_fingerprint(x: torch.Tensor) -> str:
    h = hashlib.sha256(str(tuple(x.shape)).encode())
    h.update(x.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def reference_features(images: torch.Tensor, extractor, *, key: str, cache_dir: str | os.PathLike | None = None,
                       use_cache: bool = True) -> FeatureSet:
    """Features + statistics of real ``images``, cached by ``key`` × extractor × checksum.

    ``extractor`` is an :class:`~ganstyle.metrics.extractors.Extractor` (name, checksum, precision, run, record).
    """
    cacheable = use_cache and extractor.checksum not in ("unknown", "random")
    tag = hashlib.sha256(f"{key}|{extractor.name}|{extractor.checksum}|{extractor.precision}".encode()).hexdigest()[:16]
    path = Path(cache_dir or default_cache_dir()) / "stats" / f"{extractor.name}-{tag}.npz"
    if cacheable and path.is_file():
        return FeatureSet.load(path)
    feats, logits = extractor.run(quantize(images))
    fs = FeatureSet.from_features(feats, logits)
    if cacheable:
        fs.save(path, meta={"key": key, **extractor.record()})
    return fs
