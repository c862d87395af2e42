"""Style-transfer losses as small pure functions of feature tensors (B, C, H, W).

Normalisations are chosen so that loss weights do not depend on the image size: the Gram
matrix is divided by C*H*W, every loss is a mean over its elements.
"""

from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F

Features = Mapping[str, torch.Tensor]


def gram_matrix(feat: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C): channel co-activations divided by C*H*W.

    Computed in float32 even under autocast: a bf16 sum over H*W loses too many digits.
    """
    b, c, h, w = feat.shape
    f = feat.reshape(b, c, h * w).float()
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def content_loss(feat: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between feature maps."""
    return F.mse_loss(feat.float(), target.float())


def gram_targets(feats: Features) -> dict[str, torch.Tensor]:
    """Gram matrices of the style image's features, detached (the fixed style targets)."""
    return {name: gram_matrix(f).detach() for name, f in feats.items()}


def style_loss(feats: Features, target_grams: Mapping[str, torch.Tensor],
               weights: Mapping[str, float] | None = None) -> torch.Tensor:
    """Sum over layers of ``weight * MSE(gram(feat), target_gram)``.

    A target Gram of batch 1 is broadcast over a batch of outputs. Layers missing from
    ``weights`` get weight 1; ``weights=None`` weights every layer in ``target_grams`` by 1.
    """
    total = None
    for name, target in target_grams.items():
        w = 1.0 if weights is None else float(weights.get(name, 1.0))
        if w == 0.0:
            continue
        g = gram_matrix(feats[name])
        term = w * F.mse_loss(g, target.expand_as(g))
        total = term if total is None else total + term
    if total is None:
        return next(iter(feats.values())).new_zeros((), dtype=torch.float32)
    return total


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference between neighbouring pixels (both axes)."""
    dy = image[..., 1:, :] - image[..., :-1, :]
    dx = image[..., :, 1:] - image[..., :, :-1]
    return dy.float().pow(2).mean() + dx.float().pow(2).mean()


def mean_std(feat: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation over space, each (B, C, 1, 1).

    ``eps`` is added to the variance so the std (and its gradient) stays finite on flat maps.
    """
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)
    mean = flat.mean(dim=2).view(b, c, 1, 1)
    std = (flat.var(dim=2, unbiased=False) + eps).sqrt().view(b, c, 1, 1)
    return mean, std


def adain(content_feat: torch.Tensor, style_feat: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Adaptive instance normalisation: the content's normalised features with the style's
    per-channel mean and std (Huang & Belongie 2017)."""
    c_mean, c_std = mean_std(content_feat, eps)
    s_mean, s_std = mean_std(style_feat, eps)
    return (content_feat - c_mean) / c_std * s_std + s_mean


def adain_style_loss(feats: Features, style_feats: Features, weights: Mapping[str, float] | None = None,
                     eps: float = 1e-5) -> torch.Tensor:
    """Sum over layers of ``weight * (MSE(mean) + MSE(std))`` between output and style features."""
    total = None
    for name, s in style_feats.items():
        w = 1.0 if weights is None else float(weights.get(name, 1.0))
        if w == 0.0:
            continue
        o_mean, o_std = mean_std(feats[name].float(), eps)
        s_mean, s_std = mean_std(s.float(), eps)
        term = w * (F.mse_loss(o_mean, s_mean.expand_as(o_mean)) + F.mse_loss(o_std, s_std.expand_as(o_std)))
        total = term if total is None else total + term
    if total is None:
        return next(iter(feats.values())).new_zeros((), dtype=torch.float32)
    return total
