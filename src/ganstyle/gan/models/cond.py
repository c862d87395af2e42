"""Class-conditional SNGAN with a projection discriminator (Miyato & Koyama, "cGANs with
Projection Discriminator", ICLR 2018).

The generator is the SNGAN ResNet whose BatchNorms take a per-class gain and bias
(conditional batch norm, de Vries et al. 2017); the discriminator adds ``<embed(y), φ(x)>``
to its logit. Labels come from the dataset (digits, MNIST-family, CIFAR-10, or the
sub-folders of ``folder:PATH``); choosing this model turns ``--conditional`` on.
Sample one class with ``ganstyle sample RUN --class 3``, or a per-class grid with
``--per-class K``.
"""

from __future__ import annotations

from ganstyle.errors import GanstyleError
from ganstyle.gan.models import sngan

CONDITIONAL = True  # the trainer turns --conditional on for this family
DEFAULTS = dict(sngan.DEFAULTS)


def check(cfg, data_shape) -> None:
    sngan.check(cfg, data_shape)


def make_generator(cfg, data_shape, num_classes):
    if not num_classes:
        raise GanstyleError(f"--model {cfg.model} needs labelled data (digits, mnist, cifar10, or folder:PATH with one sub-folder per class)")
    return sngan.make_generator(cfg, data_shape, num_classes)


make_discriminator = sngan.make_discriminator
