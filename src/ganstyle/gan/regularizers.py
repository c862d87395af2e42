"""Zero-centred gradient penalties for the discriminator, optionally lazy.

- R1 (Mescheder, Geiger & Nowozin, ICML 2018): ``γ/2 · E_x~real ||∇_x D(x)||²``; keeps D
  flat on the data, which makes GAN training locally convergent.
- R2 (same paper): the same penalty on generated samples.
- Lazy regularisation (Karras et al., "Analyzing and Improving the Image Quality of
  StyleGAN", CVPR 2020): evaluate the penalty only every ``k``-th D update and multiply it
  by ``k``, so its average strength is unchanged while its cost drops ``k``-fold.

The penalties are computed in float32 outside autocast; with DiffAugment they see the
augmented images, i.e. the ones D is actually trained on.
"""

from __future__ import annotations

import torch

from ganstyle.errors import GanstyleError
from ganstyle.gan.losses import _input_grad_norm2, r1_penalty


def r2_penalty(D, fake: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """``E ||∇_x D(G(z))||²`` over a generated batch (unweighted)."""
    return _input_grad_norm2(D, fake.detach().float(), y).mean()


def lazy_due(d_iter: int, every: int) -> bool:
    """Whether the penalty runs on D update number ``d_iter`` (0-based)."""
    return every <= 1 or d_iter % every == 0


def zero_centred_penalties(D, real, fake, y_real, y_fake, *, r1_gamma: float, r2_gamma: float, every: int,
                           d_iter: int, real_logits: torch.Tensor | None = None) -> list[torch.Tensor]:
    """The weighted R1/R2 terms due at this D update (an empty list between lazy updates)."""
    if not lazy_due(d_iter, every):
        return []
    scale = max(every, 1)
    terms = []
    if r1_gamma:
        terms.append(0.5 * r1_gamma * scale * r1_penalty(D, real.float(), y_real, real_logits))
    if r2_gamma:
        terms.append(0.5 * r2_gamma * scale * r2_penalty(D, fake, y_fake))
    return terms


def check_zoo_options(cfg) -> None:
    """Reject impossible combinations of the regulariser/trick flags with one clear message
    (single values are checked against their declared ranges in :mod:`ganstyle.gan.config`)."""
    from ganstyle.gan.augment import parse_policy

    parse_policy(cfg.diffaugment)
    if cfg.pack > 1:
        if cfg.batch_size % cfg.pack:
            raise GanstyleError(f"--pack {cfg.pack}: --batch-size {cfg.batch_size} must be a multiple of it")
        if cfg.conditional:
            raise GanstyleError("--pack: PacGAN packs unlabelled samples; it does not combine with --conditional")
