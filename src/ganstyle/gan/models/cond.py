"""Class-conditional SNGAN with a projection discriminator (Miyato & Koyama, "cGANs with
Projection Discriminator", ICLR 2018).

The generator is the SNGAN ResNet whose batch norms take a per-class gain and bias
(conditional batch norm, de Vries et al. 2017); the discriminator adds ``<embed(y), φ(x)>``
to its logit. Two choices, measured on real MNIST digits (``benchmarks/cond_variants.py``,
``benchmarks/results/zoo_mnist/NOTES.md``):

- the gains and biases are linear in one learned class embedding of :data:`EMBED_DIM`
  shared by every block, as in BigGAN, rather than looked up in per-class tables: tables
  start at zero and move by about one learning rate per step, so the class does not show
  within a CPU budget of a few hundred steps, while the shared embedding gives every class its
  own modulation from the first step. The class never enters at the generator's input:
  with a class embedding concatenated to ``z`` (this family's earlier design) the generator
  learned to draw one prototype per class and ignored ``z`` — every sample of a class became
  the same image within a few hundred steps (the condition dominating the noise, as Mao et
  al. 2019 describe for conditional GANs). Entering only through the normalisation's gain
  and bias, the class modulates what is drawn from ``z`` instead of replacing it;
- the projection embedding of D is not spectrally normalised (the paper normalises it): the
  class shows sooner (at 90 CPU-seconds), and normalising it did not keep the variety longer.

This keeps variety within a class at 3 CPU-minutes on MNIST, but not yet at 15: by then the
generator draws one most typical digit per class again, with either projection embedding
(open; see the notes).

Labels come from the dataset (digits, MNIST-family, CIFAR-10, or the sub-folders of
``folder:PATH``); choosing this model turns ``--conditional`` on. Sample one class with
``ganstyle sample RUN --class 3``, or a per-class grid with ``--per-class K``.
"""

from __future__ import annotations

from ganstyle.errors import GanstyleError
from ganstyle.gan.models import sngan

CONDITIONAL = True  # the trainer turns --conditional on for this family
EMBED_DIM = 128  # the shared class embedding every conditional batch norm reads
DEFAULTS = dict(sngan.DEFAULTS)
Options = sngan.Options  # the [cond] table


defaults_for_shape = sngan.defaults_for_shape


def check(cfg, data_shape) -> None:
    sngan.check(cfg, data_shape)


def make_generator(cfg, data_shape, num_classes):
    if not num_classes:
        raise GanstyleError(f"--model {cfg.model} needs labelled data (digits, mnist, cifar10, or folder:PATH with one sub-folder per class)")
    return sngan.make_generator(cfg, data_shape, num_classes, shared_dim=EMBED_DIM)


def make_discriminator(cfg, data_shape, num_classes):
    return sngan.make_discriminator(cfg, data_shape, num_classes, sn_embed=False)
