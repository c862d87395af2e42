"""Discriminator-guided sampling: use a run's trained discriminator to correct its generator.

A discriminator near its optimum gives the density ratio between data and generator,
``p_data(x) / p_G(x) = exp(logit(x))``, so samples from ``G`` can be reweighted towards the
data without retraining:

- **DRS**, discriminator rejection sampling (Azadi et al., ICLR 2019): accept a generated
  ``x`` with probability ``sigmoid(F(x))``, where ``F(x) = L - log(1 - exp(L - eps)) - gamma``
  and ``L = logit(x) - max logit``. With ``gamma = 0`` (our default) this is exact rejection
  sampling (acceptance ``exp(L)``). The paper shifts ``gamma`` to a high percentile of ``F``
  (``gamma_quantile``), which keeps only the highest-scoring samples: on ring8 that lifted the
  high-quality share to 99 % but piled the samples onto the modes D liked best (reverse KL
  1.3), so exact rejection is the default (README "Mode coverage").
- **MH**, Metropolis-Hastings GAN (Turner et al., ICML 2019): an independence sampler whose
  proposals come from ``G``; from state ``x`` a proposal ``x'`` is accepted with probability
  ``min(1, exp(logit(x') - logit(x)))``. Each output sample is the end of its own chain of
  ``steps`` proposals, started (as in the paper) from a real sample so no burn-in is needed;
  a chain that never accepted anything returns a generated sample instead of the real one.
- **Langevin**, discriminator-driven latent sampling (Che et al., NeurIPS 2020, "Your GAN is
  secretly an energy-based model"): the generator's latent prior tilted by the logit,
  ``p(z) ∝ N(z; 0, I) · exp(logit(G(z)))``, is the latent-space image of ``p_G · p_data/p_G``;
  a few unadjusted Langevin steps ``z ← z − (ε/2) ∇E(z) + √ε ξ`` with
  ``E(z) = |z|²/2 − logit(G(z))`` move each latent uphill on D. Unlike DRS and MH it moves samples
  rather than choosing among them, so a sample that lies between two modes slides onto the nearer
  one; a short chain with a small step (the defaults, 50 × 1e-3) stays local, so the share of each
  mode is kept. Works for any generator with a Gaussian latent (images too).

Both methods need *calibrated* logits. As in both papers, the raw logit is calibrated on
held-out data: a two-parameter logistic regression ``a * logit + b`` (Platt scaling) fitted
to tell held-out real samples from fresh generated ones (:func:`calibrate`).

    refined = refine_run("runs/ring8", 2500, method="drs")  # RefinedSamples(samples, acceptance, ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganstyle.errors import GanstyleError

METHODS = ("drs", "mh", "langevin")
DEFAULT_MH_STEPS = 20
DEFAULT_LANGEVIN_STEPS = 50
DEFAULT_LANGEVIN_STEP_SIZE = 1e-3


@dataclass
class Calibration:
    """Calibrated logit ``a * raw + b`` of a discriminator (Platt scaling)."""

    a: float = 1.0
    b: float = 0.0

    def __call__(self, raw: torch.Tensor) -> torch.Tensor:
        return self.a * raw + self.b


@dataclass
class RefinedSamples:
    samples: torch.Tensor
    acceptance: float  # fraction of proposals accepted
    proposals: int  # generator samples drawn (DRS), proposals made (MH) or gradient steps taken in all (Langevin)
    calibration: Calibration
    latent_shift: float | None = None  # Langevin: mean distance each latent moved


@torch.no_grad()
def discriminator_logits(D: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None,
                         batch_size: int = 1024) -> torch.Tensor:
    """Raw logits of ``D`` (float32, CPU) in eval mode, in batches."""
    was_training = D.training
    D.eval()
    try:
        out = []
        for i in range(0, x.shape[0], batch_size):
            yi = y[i:i + batch_size] if y is not None else None
            out.append(D(x[i:i + batch_size], yi).float().cpu().reshape(-1))
        return torch.cat(out) if out else torch.empty(0)
    finally:
        D.train(was_training)


def calibrate(real_logits: torch.Tensor, fake_logits: torch.Tensor, iters: int = 50) -> Calibration:
    """Fit ``p(real | x) = sigmoid(a * logit + b)`` on held-out real and generated logits by
    Newton's method on the (convex) logistic loss; classes are weighted equally."""
    x = torch.cat([real_logits, fake_logits]).double()
    t = torch.cat([torch.ones_like(real_logits), torch.zeros_like(fake_logits)]).double()
    w = torch.cat([torch.full_like(real_logits, 0.5 / len(real_logits)),
                   torch.full_like(fake_logits, 0.5 / len(fake_logits))]).double()
    feats = torch.stack([x, torch.ones_like(x)], 1)
    theta = torch.tensor([1.0, 0.0], dtype=torch.float64)
    for _ in range(iters):
        p = torch.sigmoid(feats @ theta)
        grad = feats.T @ (w * (p - t))
        hess = (feats * (w * p * (1 - p))[:, None]).T @ feats + 1e-9 * torch.eye(2, dtype=torch.float64)
        step = torch.linalg.solve(hess, grad)
        theta = theta - step
        if step.abs().max() < 1e-10:
            break
    if not torch.isfinite(theta).all():
        raise GanstyleError("--refine: could not calibrate the discriminator (its logits separate real and generated data perfectly)")
    return Calibration(float(theta[0]), float(theta[1]))


def drs_sample(propose, score, n: int, *, generator: torch.Generator, gamma: float = 0.0,
               gamma_quantile: float | None = None, burn_in: int = 10_000, batch_size: int = 1000,
               max_proposals: int | None = None, eps: float = 1e-6) -> RefinedSamples:
    """Discriminator rejection sampling.

    ``propose(k)`` returns ``k`` generator samples; ``score(x)`` their calibrated logits.
    ``gamma=0`` is exact rejection sampling; ``gamma_quantile=q`` instead sets gamma to the
    q-quantile of F over the burn-in samples (the paper's choice, e.g. 0.95). Stops with an
    error after ``max_proposals`` (default 1000·n).
    """
    max_proposals = max_proposals or 1000 * n
    burn = propose(burn_in)
    d_max = float(score(burn).max())
    if gamma_quantile is None and gamma == 0.0:
        expected = float((score(burn).double() - d_max).exp().mean())
        if expected * max_proposals < n:
            raise GanstyleError(f"--refine drs: exact rejection would keep about {100 * expected:.2g}% of samples (the "
                                "discriminator tells this generator's samples from data too easily); train longer, "
                                "use --refine mh, or --drs-quantile 0.95")
    if gamma_quantile is not None:
        gamma = float(torch.quantile(_drs_f(score(burn), d_max, eps, 0.0).double(), gamma_quantile))
    kept, drawn, accepted = [], 0, 0
    while accepted < n:
        if drawn >= max_proposals:
            raise GanstyleError(f"--refine drs: accepted only {accepted} of {n} samples in {drawn} proposals")
        x = propose(batch_size)
        logits = score(x)
        d_max = max(d_max, float(logits.max()))  # the paper keeps the running maximum
        p = torch.sigmoid(_drs_f(logits, d_max, eps, gamma))
        keep = torch.rand(len(p), generator=generator) < p
        kept.append(x[keep])
        drawn += len(p)
        accepted += int(keep.sum())
    return RefinedSamples(torch.cat(kept)[:n], accepted / drawn, drawn, Calibration())


def _drs_f(logits: torch.Tensor, d_max: float, eps: float, gamma: float) -> torch.Tensor:
    shifted = (logits.double() - d_max).clamp(max=0.0)
    return shifted - torch.log1p(-torch.exp(shifted - eps)) - gamma


def mh_sample(propose, score, n: int, *, steps: int, generator: torch.Generator,
              init: torch.Tensor | None = None) -> RefinedSamples:
    """Independence Metropolis-Hastings with generator proposals, ``n`` chains of ``steps``.

    ``init``: ``n`` real samples to start the chains from (the paper's choice). Chains that
    accepted no proposal end on a fresh generated sample, so no real sample is ever returned.
    """
    if steps < 1:
        raise GanstyleError(f"--refine-steps: must be at least 1, got {steps}")
    state = init if init is not None else propose(n)
    state_logit = score(state).double()
    moved = torch.zeros(n, dtype=torch.bool)
    accepted = 0
    for _ in range(steps):
        x = propose(n)
        logit = score(x).double()
        # min(1, (1/D(x) - 1) / (1/D(x') - 1)) = min(1, exp(logit' - logit))
        accept = torch.rand(n, generator=generator, dtype=torch.float64).log() < (logit - state_logit)
        state = torch.where(accept.view(-1, *([1] * (x.dim() - 1))), x, state)
        state_logit = torch.where(accept, logit, state_logit)
        moved |= accept
        accepted += int(accept.sum())
    if init is not None and not moved.all():
        stuck = int((~moved).sum())
        state = state.clone()
        state[~moved] = propose(stuck)
    return RefinedSamples(state, accepted / (n * steps), n * steps, Calibration())


def latent_langevin(G: nn.Module, score, z: torch.Tensor, *, steps: int, step_size: float,
                    generator: torch.Generator, batch_size: int = 500) -> RefinedSamples:
    """Unadjusted Langevin dynamics on ``E(z) = |z|²/2 − score(G(z))`` from latents ``z``.

    ``score(x)`` returns calibrated logits and must be differentiable in ``x``. Returns
    ``G(z_final)`` (float32, CPU). ``generator`` draws the Langevin noise.
    """
    if steps < 1:
        raise GanstyleError(f"--refine-steps: must be at least 1, got {steps}")
    if not step_size > 0:
        raise GanstyleError(f"--refine-step-size: must be positive, got {step_size}")
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    out, shift = [], 0.0
    try:
        for i in range(0, z.shape[0], batch_size):
            z0 = z[i:i + batch_size].to(device)
            zi = z0.clone()
            for _ in range(steps):
                zi = zi.detach().requires_grad_(True)
                energy = 0.5 * zi.pow(2).sum(1) - score(G(zi)).reshape(-1)
                grad, = torch.autograd.grad(energy.sum(), zi)
                noise = torch.randn(zi.shape, generator=generator).to(device)
                zi = zi.detach() - 0.5 * step_size * grad + step_size ** 0.5 * noise
            shift += float((zi - z0).flatten(1).norm(dim=1).sum())
            with torch.no_grad():
                out.append(G(zi).float().cpu())
    finally:
        G.train(was_training)
    n = z.shape[0]
    return RefinedSamples(torch.cat(out), 1.0, n * steps, Calibration(), latent_shift=shift / max(n, 1))


# ------------------------------------------------------------------ runs


def load_discriminator(stem: Path, cfg, data_shape: tuple[int, ...], num_classes: int | None) -> nn.Module:
    """The run's trained discriminator (raw weights, eval mode, CPU)."""
    from ganstyle.gan.models import build_models
    from ganstyle.io.checkpoints import load_checkpoint, sub_state_dict

    if (getattr(cfg, "pack", 1) or 1) > 1:
        raise GanstyleError(f"--refine: the run used --pack {cfg.pack}, whose discriminator scores packs, not single samples")
    _, D = build_models(cfg, data_shape, num_classes)
    tensors, _ = load_checkpoint(stem)
    weights = sub_state_dict(tensors, "D")
    if not weights:
        raise GanstyleError(f"{stem}: the checkpoint holds no discriminator weights; --refine needs them")
    try:
        D.load_state_dict(weights)
    except RuntimeError as exc:  # e.g. a run saved by an earlier version of its model family
        raise GanstyleError(f"{stem}: discriminator weights do not fit model {cfg.model!r} "
                            f"({str(exc).splitlines()[0]})") from None
    return D.eval().requires_grad_(False)


def held_out_real(cfg, n: int, seed: int) -> torch.Tensor:
    """Real samples the run did not train on where possible: fresh draws for the 2-D mixtures;
    for image datasets a random subset of the data (folders have no separate split)."""
    from ganstyle.data.toy2d import TOY_STD, sample_toy2d

    if cfg.data in TOY_STD:
        # the training set was drawn with the run's seed; another stream gives unseen points
        return sample_toy2d(cfg.data, n, torch.Generator().manual_seed(10_007 + seed))[0]
    from ganstyle.gan.batches import load_training_data

    ds = load_training_data(cfg)
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:n]
    return ds.x[idx]


def refine_run(source, n: int, method: str = "drs", *, steps: int | None = None, seed: int = 0,
               calibration_n: int = 2000, device: str = "cpu", drs_quantile: float | None = None,
               step_size: float | None = None) -> RefinedSamples:
    """``n`` samples from a run's averaged generator, refined with its discriminator.

    ``method``: ``drs``, ``mh`` or ``langevin``; ``steps``: MH chain length (default 20) or
    Langevin steps (default 50); ``step_size``: Langevin's ε (default 1e-3); ``drs_quantile``:
    DRS's gamma from this quantile of F (default: exact rejection). Class-conditional
    runs are not supported (the chains would need matching labels).
    """
    from ganstyle.gan.generator import LoadedGenerator, generate_from, load_generator

    if method not in METHODS:
        raise GanstyleError(f"--refine: unknown method {method!r}; choose drs, mh or langevin")
    g = source if isinstance(source, LoadedGenerator) else load_generator(source, device)
    if g.num_classes:
        raise GanstyleError("--refine: class-conditional runs are not supported")
    D = load_discriminator(g.checkpoint, g.config, g.data_shape, g.num_classes).to(g.device)
    counter = iter(range(1, 1 << 30))

    def propose(k: int) -> torch.Tensor:  # a new latent stream for every call, all from `seed`
        return generate_from(g.generator, k, seed=seed * 1_000_003 + next(counter), device=g.device)

    def raw(x: torch.Tensor) -> torch.Tensor:
        return discriminator_logits(D, x.to(g.device))

    real = held_out_real(g.config, calibration_n, seed)
    calib = calibrate(raw(real), raw(propose(len(real))))

    def score(x: torch.Tensor) -> torch.Tensor:
        return calib(raw(x))

    rng = torch.Generator().manual_seed(seed)
    if method == "drs":
        out = drs_sample(propose, score, n, generator=rng, gamma_quantile=drs_quantile)
    elif method == "langevin":
        from ganstyle.gan.generator import sample_latents

        z = sample_latents(g.generator, n, torch.Generator().manual_seed(seed * 1_000_003), "cpu", None)
        out = latent_langevin(g.generator, lambda x: calib(D(x).float()), z, generator=rng,
                              steps=DEFAULT_LANGEVIN_STEPS if steps is None else steps,
                              step_size=DEFAULT_LANGEVIN_STEP_SIZE if step_size is None else step_size)
    else:
        init = held_out_real(g.config, n, seed + 1)
        out = mh_sample(propose, score, n, steps=DEFAULT_MH_STEPS if steps is None else steps, generator=rng, init=init)
    out.calibration = calib
    return out


def describe(result: RefinedSamples, method: str) -> str:
    calib = f"(calibrated logit = {result.calibration.a:.3g}*D + {result.calibration.b:.3g})"
    if result.latent_shift is not None:
        steps = result.proposals // max(len(result.samples), 1)
        return f"refine {method}: {steps} latent Langevin steps per sample, latents moved {result.latent_shift:.3g} on average {calib}"
    return f"refine {method}: accepted {100 * result.acceptance:.1f}% of {result.proposals} proposals {calib}"

