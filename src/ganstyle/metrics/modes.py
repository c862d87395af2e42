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
from ganstyle.metrics.registry import MetricInputs, MetricSkipped, register_metric

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


@register_metric("modes", help="mode coverage: modes hit, % high-quality samples, reverse KL "
                               "(2-D mixtures; images through the domain classifier)")
def modes_metric(inputs: MetricInputs) -> list[dict]:
    data = inputs.dataset
    if data.kind == "points":
        centers, std = data.meta.get("centers"), data.meta.get("std")
        if centers is None or std is None:
            raise MetricSkipped(f"dataset {data.name} has no mode centres")
        mc = mode_coverage(inputs.fake[:PROTOCOL_SAMPLES], centers, std)
        common = {"n_fake": mc["n"], "num_modes": mc["num_modes"], "extractor": "none"}
        return [inputs.record(name, mc[name], **common) for name in ("modes", "hq", "rkl")]
    if inputs.logits is None or not data.num_classes or not inputs.extractor.startswith("classifier"):
        raise MetricSkipped("mode coverage on images needs the domain classifier (--extractor classifier)")
    return class_coverage(inputs, data.num_classes)


def class_coverage(inputs: MetricInputs, num_classes: int, confidence: float = 0.9) -> list[dict]:
    """Classes covered by confidently classified samples; reverse KL of the predicted-class histogram."""
    z = inputs.logits - inputs.logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    pred, conf = p.argmax(axis=1), p.max(axis=1)
    confident = conf >= confidence
    hist = np.bincount(pred, minlength=num_classes) / len(pred)
    nz = hist > 0
    rkl = float((hist[nz] * np.log(hist[nz] * num_classes)).sum())
    common = {"num_modes": num_classes, "confidence": confidence}
    return [inputs.record("modes", len(np.unique(pred[confident])), **common),
            inputs.record("hq", 100.0 * confident.mean(), **common), inputs.record("rkl", rkl, **common)]
