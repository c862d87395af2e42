"""GAN objectives on discriminator logits, and discriminator regularisers.

Every loss is a pair of small functions with one signature each::

    d_loss(real_logits, fake_logits) -> scalar      g_loss(fake_logits) -> scalar

``logits`` are the raw discriminator outputs (no sigmoid). :func:`get_loss` returns the
pair for a name, with one-sided label smoothing bound in where the loss has targets.
Regularisers take the discriminator itself and are added by the trainer with their own
weight, so any of them combines with any loss.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

from ganstyle.errors import GanstyleError


def _bce_real(logits: torch.Tensor, target: float) -> torch.Tensor:
    # BCE(sigmoid(l), t) = t*softplus(-l) + (1-t)*softplus(l), stable for any logit
    loss = target * F.softplus(-logits)
    if target != 1.0:
        loss = loss + (1.0 - target) * F.softplus(logits)
    return loss.mean()


def minimax_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z))) (Goodfellow et al., 2014); real target 1 - label_smoothing."""
    return _bce_real(real_logits, 1.0 - label_smoothing) + F.softplus(fake_logits).mean()


def minimax_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """log(1 - D(G(z))): the original, saturating generator objective."""
    return -F.softplus(fake_logits).mean()


nonsaturating_d_loss = minimax_d_loss


def nonsaturating_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(G(z)): same fixed point as minimax, strong gradients early on."""
    return F.softplus(-fake_logits).mean()


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z))) (Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


def wasserstein_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Critic estimate of -W(real, fake): E[D(G(z))] - E[D(x)]. Needs a Lipschitz constraint
    (``gradient_penalty``)."""
    return fake_logits.mean() - real_logits.mean()


def wasserstein_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


def least_squares_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """LSGAN with targets a=0 (fake), b=1 (real) (Mao et al., 2017)."""
    target = 1.0 - label_smoothing
    return 0.5 * (real_logits - target).pow(2).mean() + 0.5 * fake_logits.pow(2).mean()


def least_squares_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN generator target c=1."""
    return 0.5 * (fake_logits - 1.0).pow(2).mean()


class GANLoss(NamedTuple):
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g_loss: Callable[[torch.Tensor], torch.Tensor]


# name -> (d_loss, g_loss, accepts label smoothing)
LOSSES: dict[str, tuple[Callable, Callable, bool]] = {
    "minimax": (minimax_d_loss, minimax_g_loss, True),
    "ns": (nonsaturating_d_loss, nonsaturating_g_loss, True),
    "hinge": (hinge_d_loss, hinge_g_loss, False),
    "wgan-gp": (wasserstein_d_loss, wasserstein_g_loss, False),
    "lsgan": (least_squares_d_loss, least_squares_g_loss, True),
}


def get_loss(name: str, label_smoothing: float = 0.0) -> GANLoss:
    try:
        d, g, smoothable = LOSSES[name]
    except KeyError:
        raise GanstyleError(f"--loss: unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
    if not 0.0 <= label_smoothing < 1.0:
        raise GanstyleError(f"--label-smoothing: {label_smoothing} must be in [0, 1)")
    if label_smoothing:
        if not smoothable:
            raise GanstyleError(f"--label-smoothing applies to losses with targets (minimax, ns, lsgan), not {name}")
        d = partial(d, label_smoothing=label_smoothing)
    return GANLoss(d, g)


# ------------------------------------------------------------------ regularisers


def _input_grad_norm2(D, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    out = D(x, y)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1)


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None = None, *,
                     center: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP: E[(||∇D(x̂)|| - center)²] at x̂ uniformly between paired real and fake samples."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, device=real.device, dtype=real.dtype, generator=generator)
    mixed = torch.lerp(real.detach(), fake.detach(), alpha)
    norm = (_input_grad_norm2(D, mixed, y) + 1e-12).sqrt()
    return (norm - center).pow(2).mean()


def r1_penalty(D, real: torch.Tensor, y: torch.Tensor | None = None, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """R1: E[||∇D(x)||²] on real data (Mescheder et al., 2018); weight it with gamma/2.

    Pass ``real_logits = D(real, y)`` computed from a ``real`` that requires grad to reuse
    that forward pass instead of running D again.
    """
    if real_logits is None:
        return _input_grad_norm2(D, real, y).mean()
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()
