"""Unpaired image-to-image translation trained adversarially: CycleGAN and MUNIT-lite.

Unlike Gatys, Johnson and AdaIN (:mod:`ganstyle.style`), nothing here uses a pretrained
feature network: a domain's look is learned from two unpaired image collections.

- :func:`train_translation` trains a model into a run directory (``ganstyle translate-train``);
- :func:`translate_images` translates image files or folders with a run (``ganstyle translate``);
- :func:`evaluate_translation` measures a run (``ganstyle translate-eval``).
"""

from __future__ import annotations

from ganstyle.translate.cyclegan import CycleGAN, CycleGANConfig
from ganstyle.translate.data import DomainPair, digits_pair, load_domains
from ganstyle.translate.munit import MUNIT, MUNITConfig
from ganstyle.translate.trainer import TranslateConfig, train_translation

__all__ = ["CycleGAN", "CycleGANConfig", "MUNIT", "MUNITConfig", "DomainPair", "digits_pair", "load_domains",
           "TranslateConfig", "train_translation", "translate_images", "load_translator", "evaluate_translation"]


def __getattr__(name):
    if name in ("translate_images", "load_translator"):
        from ganstyle.translate import api

        return getattr(api, name)
    if name == "evaluate_translation":
        from ganstyle.translate.evaluate import evaluate_translation

        return evaluate_translation
    raise AttributeError(name)
