"""Inception Score (Salimans et al. 2016): exp E_x KL(p(y|x) ‖ p(y)), mean and std over splits.

Takes logits (softmax is applied here, in float64) or probabilities (``from_logits=False``).
The samples are split in order into ``splits`` contiguous chunks (no shuffle, like the
original code); p(y) is each chunk's mean prediction. With the FID Inception network
the logits are the 1008-way ones *without* the final bias, as in the original
TensorFlow IS code (torch-fidelity calls them ``logits_unbiased``).
"""

from __future__ import annotations

import numpy as np

from ganstyle.errors import GanstyleError
from ganstyle.metrics.registry import MetricInputs, MetricSkipped, register_metric


def inception_score(logits_or_probs, *, splits: int = 10, from_logits: bool = True) -> tuple[float, float]:
    x = np.asarray(logits_or_probs, np.float64)
    if x.ndim != 2:
        raise GanstyleError(f"Inception Score needs (N, classes) logits or probabilities, got shape {x.shape}")
    n = x.shape[0]
    splits = max(1, min(splits, n))
    if from_logits:
        log_p = x - x.max(axis=1, keepdims=True)
        log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    else:
        log_p = np.log(np.clip(x, 1e-300, None))
    p = np.exp(log_p)
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        p_y = p[lo:hi].mean(axis=0)
        kl = (p[lo:hi] * (log_p[lo:hi] - np.log(np.clip(p_y, 1e-300, None)))).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


@register_metric("is", help="Inception Score from the extractor's class logits", kinds=("images",))
def inception_score_metric(inputs: MetricInputs) -> list[dict]:
    if inputs.logits is None:
        raise MetricSkipped(f"extractor {inputs.extractor} gives no logits")
    splits = inputs.options.get("is_splits", 10)
    mean, std = inception_score(inputs.logits, splits=splits)
    return [inputs.record("is", mean, std, splits=splits)]
