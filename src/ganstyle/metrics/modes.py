"""Mode coverage on the 2-D Gaussian mixtures (PacGAN / VEEGAN protocol).

- ``ring8``: 8 modes with means (cos 2πk/8, sin 2πk/8), k = 0..7, std 0.01.
- ``grid25``: 25 modes with means {−4, −2, 0, 2, 4}², std 0.05.

Draw 2500 samples from the generator. Assign each sample to its nearest mean
(Euclidean). A sample is *high quality* if it lies within 3 standard deviations of that
mean (distance ≤ 3·std: 0.03 for ring8, 0.15 for grid25). A mode is *covered* if at
least one high-quality sample is assigned to it. Report

- ``modes``: the number of covered modes (out of 8 or 25),
- ``hq``: the percentage of samples that are high quality,
- ``rkl``: the reverse KL divergence KL(p ‖ u) = Σ_k p_k log(K p_k) between the
  histogram p of nearest-mode assignments over *all* samples and the uniform
  distribution u over the K modes (0 when every mode gets the same share; log K when
  all samples fall on one mode; empty modes contribute 0).

PacGAN (Lin et al. 2018, Table 1) reports these three numbers averaged over trials.
"""

from __future__ import annotations

import numpy as np
import torch

from ganstyle.errors import GanstyleError

PROTOCOL_SAMPLES = 2500


def mode_coverage(samples, centers, std: float, *, hq_sigmas: float = 3.0) -> dict[str, float]:
    x = torch.as_tensor(np.asarray(samples, np.float64))
    c = torch.as_tensor(np.asarray(centers, np.float64))
    if x.dim() != 2 or x.shape[1] != c.shape[1]:
        raise GanstyleError(f"mode coverage needs (N, {c.shape[1]}) points, got shape {tuple(x.shape)}")
    k = len(c)
    if not torch.isfinite(x).all():
        # a diverged generator: count non-finite samples as low quality, assigned nowhere
        x = torch.nan_to_num(x, nan=1e12, posinf=1e12, neginf=-1e12)
    dist, assign = torch.cdist(x, c).min(dim=1)
    hq = dist <= hq_sigmas * std
    covered = torch.zeros(k, dtype=torch.bool)
    covered[assign[hq]] = True
    p = torch.bincount(assign, minlength=k).double() / len(x)
    nz = p > 0
    rkl = float((p[nz] * torch.log(p[nz] * k)).sum())
    return {"modes": int(covered.sum()), "num_modes": k, "hq": 100.0 * float(hq.double().mean()), "rkl": rkl,
            "n": int(len(x))}


def toy_mode_coverage(samples, toy_name: str) -> dict[str, float]:
    from ganstyle.data.toy2d import TOY_STD, toy_centers

    return mode_coverage(samples, toy_centers(toy_name), TOY_STD[toy_name])
