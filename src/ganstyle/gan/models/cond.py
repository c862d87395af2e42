"""Class-conditional SNGAN with a projection discriminator (Miyato & Koyama, "cGANs with
Projection Discriminator", ICLR 2018).

The generator is the SNGAN ResNet whose BatchNorms take a per-class gain and bias
(conditional batch norm, de Vries et al. 2017); the discriminator adds ``<embed(y), φ(x)>``
to its logit. Two changes make the class show within CPU budgets of a few hundred steps
(measured on 16 px digits as the share of samples the digits classifier assigns to the
requested class):

- the generator also concatenates a learned class embedding to ``z`` at its input: per-class
  BN tables alone start at zero and move by about one learning rate per step (10-13% after
  750 steps; about 60% after 400-700 steps with the input embedding);
- the projection embedding of D is not spectrally normalised (the paper normalises it),
  so the class term is not capped while D is still weak (84% after 600 steps, vs 63%). Labels come from the dataset (digits, MNIST-family, CIFAR-10, or the
sub-folders of ``folder:PATH``); choosing this model turns ``--conditional`` on.
Sample one class with ``ganstyle sample RUN --class 3``, or a per-class grid with
``--per-class K``.
"""

from __future__ import annotations

from ganstyle.errors import GanstyleError
from ganstyle.gan.models import sngan

CONDITIONAL = True  # the trainer turns --conditional on for this family
DEFAULTS = dict(sngan.DEFAULTS)
Options = sngan.Options  # the [cond] table


defaults_for_shape = sngan.defaults_for_shape


def check(cfg, data_shape) -> None:
    sngan.check(cfg, data_shape)


def make_generator(cfg, data_shape, num_classes):
    if not num_classes:
        raise GanstyleError(f"--model {cfg.model} needs labelled data (digits, mnist, cifar10, or folder:PATH with one sub-folder per class)")
    return sngan.make_generator(cfg, data_shape, num_classes, embed_input=True)


def make_discriminator(cfg, data_shape, num_classes):
    return sngan.make_discriminator(cfg, data_shape, num_classes, sn_embed=False)
