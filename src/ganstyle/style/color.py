"""Colour helpers for style transfer: YIQ conversion and colour-statistics matching.

Colour preservation follows Gatys et al. 2017 ("Controlling perceptual factors in neural
style transfer"): either transfer luminance only and keep the content's chroma, or first
move the style image's colour distribution onto the content's (mean and covariance).
Images are float tensors (..., 3, H, W) in [0, 1].
"""

from __future__ import annotations

import torch

# NTSC YIQ; Y is the ITU-R 601 luma used everywhere else in the package.
_RGB_TO_YIQ = torch.tensor([
    [0.299, 0.587, 0.114],
    [0.595716, -0.274453, -0.321263],
    [0.211456, -0.522591, 0.311135],
])
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


def _apply(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", matrix.to(image.device, image.dtype), image)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    return _apply(_RGB_TO_YIQ, image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    return _apply(_YIQ_TO_RGB, image)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) -> (..., 1, H, W) luma."""
    return rgb_to_yiq(image)[..., :1, :, :]


def gray3(image: torch.Tensor) -> torch.Tensor:
    """Luma repeated on three channels (what a luminance-only transfer optimises)."""
    y = luminance(image)
    return y.expand(*y.shape[:-3], 3, *y.shape[-2:]).contiguous()


def match_luminance(source: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Affinely map ``source``'s luma to ``reference``'s luma mean and std (as 3-channel gray)."""
    ys, yr = luminance(source), luminance(reference)
    out = (ys - ys.mean()) / ys.std().clamp_min(1e-6) * yr.std() + yr.mean()
    return out.clamp(0, 1).expand(*out.shape[:-3], 3, *out.shape[-2:]).contiguous()


def combine_luminance(luma_image: torch.Tensor, color_image: torch.Tensor) -> torch.Tensor:
    """The luma of ``luma_image`` with the chroma (I, Q) of ``color_image`` (same size)."""
    y = luminance(luma_image)
    iq = rgb_to_yiq(color_image)[..., 1:, :, :]
    return yiq_to_rgb(torch.cat([y, iq], dim=-3)).clamp(0, 1)


def _sym_sqrt(cov: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(cov)
    vals = vals.clamp_min(1e-8)
    power = -0.5 if inverse else 0.5
    return vecs @ torch.diag(vals.pow(power)) @ vecs.T


def match_color_histogram(source: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Linearly recolour ``source`` so its RGB mean and covariance equal ``reference``'s.

    Uses the symmetric square-root transform, which (unlike a Cholesky one) does not depend
    on the channel order and leaves an already-matching image unchanged.
    """
    s = source.reshape(3, -1).double()
    r = reference.reshape(3, -1).double()
    s_mean, r_mean = s.mean(1, keepdim=True), r.mean(1, keepdim=True)
    s_cov = torch.cov(s) + 1e-5 * torch.eye(3, dtype=s.dtype)
    r_cov = torch.cov(r) + 1e-5 * torch.eye(3, dtype=s.dtype)
    transform = _sym_sqrt(r_cov) @ _sym_sqrt(s_cov, inverse=True)
    out = transform @ (s - s_mean) + r_mean
    return out.reshape(source.shape).to(source.dtype).clamp(0, 1)
