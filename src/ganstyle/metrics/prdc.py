"""Improved precision and recall (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020).

Each set is a union of balls: around every sample, a ball reaching its k-th nearest
neighbour in the same set (k = 3 by default; the sample itself does not count).
*Precision* is the fraction of generated samples inside the real manifold, *recall*
the fraction of real samples inside the generated one. *Density* counts how many real
balls contain each generated sample (divided by k, so ≈1 when the sets match), and
*coverage* is the fraction of real samples whose ball contains at least one generated
sample. Distances are Euclidean in float32, computed block by block so memory stays
O(block × N).
"""

from __future__ import annotations

import numpy as np
import torch

from ganstyle.errors import GanstyleError
from ganstyle.metrics.registry import MetricInputs, register_metric


def _as_tensor(x) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x, np.float32)) if not isinstance(x, torch.Tensor) else x.float()
    if t.dim() != 2:
        raise GanstyleError(f"precision/recall: features must be (N, D), got shape {tuple(t.shape)}")
    return t


def knn_radii(x: torch.Tensor, k: int, block: int = 2048) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row."""
    if len(x) <= k:
        raise GanstyleError(f"precision/recall: need more than k={k} samples per set, got {len(x)}")
    out = torch.empty(len(x))
    for lo in range(0, len(x), block):
        d = torch.cdist(x[lo:lo + block], x)
        # the k+1 smallest include the zero self-distance
        out[lo:lo + block] = d.topk(k + 1, dim=1, largest=False).values[:, k]
    return out


def _count_inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, block: int = 2048) -> torch.Tensor:
    """For each point: how many balls (centre, radius) contain it."""
    out = torch.empty(len(points), dtype=torch.long)
    for lo in range(0, len(points), block):
        d = torch.cdist(points[lo:lo + block], centres)
        out[lo:lo + block] = (d <= radii[None]).sum(dim=1)
    return out


def precision_recall(real, fake, *, k: int = 3, density_coverage: bool = False) -> dict[str, float]:
    real, fake = _as_tensor(real), _as_tensor(fake)
    if real.shape[1] != fake.shape[1]:
        raise GanstyleError(f"precision/recall: feature sizes differ ({real.shape[1]} vs {fake.shape[1]})")
    r_real = knn_radii(real, k)
    r_fake = knn_radii(fake, k)
    in_real = _count_inside(fake, real, r_real)
    out = {
        "precision": float((in_real > 0).float().mean()),
        "recall": float((_count_inside(real, fake, r_fake) > 0).float().mean()),
    }
    if density_coverage:
        out["density"] = float(in_real.sum()) / (k * len(fake))
        # coverage: is the nearest generated sample inside each real ball?
        nearest = torch.empty(len(real))
        for lo in range(0, len(real), 2048):
            nearest[lo:lo + 2048] = torch.cdist(real[lo:lo + 2048], fake).min(dim=1).values
        out["coverage"] = float((nearest <= r_real).float().mean())
    return out


def _precision_recall_records(inputs: MetricInputs, density_coverage: bool) -> list[dict]:
    k, n_fake, n_real = inputs.options.get("pr_k", 3), len(inputs.features), inputs.reference.n
    m = min(n_fake, n_real, 10_000)  # equal set sizes, as in the paper; k-NN cost is O(m^2)
    g = np.random.default_rng(inputs.seed)
    real = inputs.reference.features[np.sort(g.choice(n_real, m, replace=False))]
    fake = inputs.features[np.sort(g.choice(n_fake, m, replace=False))]
    values = precision_recall(real, fake, k=k, density_coverage=density_coverage)
    return [inputs.record(name, value, n_fake=m, n_real=m, k=k) for name, value in values.items()]


@register_metric("pr", help="precision and recall of k-NN feature manifolds")
def precision_recall_metric(inputs: MetricInputs) -> list[dict]:
    return _precision_recall_records(inputs, density_coverage=False)


@register_metric("prdc", help="precision, recall, density and coverage", supersedes=("pr",))
def prdc_metric(inputs: MetricInputs) -> list[dict]:
    return _precision_recall_records(inputs, density_coverage=True)
