"""Model registry: a model family is one module plus one line in :data:`MODELS`.

A family module exposes two builders with the same signature::

    make_generator(cfg, data_shape, num_classes) -> nn.Module
    make_discriminator(cfg, data_shape, num_classes) -> nn.Module

``cfg`` is the run's :class:`~ganstyle.gan.trainer.TrainConfig`, ``data_shape`` the shape
of one sample (``(C, H, W)`` or ``(D,)``) and ``num_classes`` is ``None`` for an
unconditional model. It may also define ``DEFAULTS``: values for config fields the user
left unset (e.g. ``{"latent_dim": 100}``) or ``defaults_for(cfg)`` returning such a dict
chosen by the run's data, ``defaults_for_shape(data_shape)`` for values that follow the shape of
the loaded data (e.g. widths by image size; they win over ``DEFAULTS``), and
``check(cfg, data_shape)`` to reject
configurations it cannot build with a :class:`GanstyleError`.

The modules it returns follow a small protocol the trainer and sampler rely on:

- a generator is called as ``G(z, y)`` (``y`` int64 labels or ``None``) and has
  ``latent_dim``, ``num_classes`` and ``truncation``: ``None`` (not supported),
  ``"latent"`` (resample Gaussian latents beyond the threshold, BigGAN's trick) or
  ``"forward"`` (the model takes ``G(z, y, truncation=psi)``, e.g. a style-based G
  pulling ``w`` towards its mean);
- a discriminator is called as ``D(x, y)`` and returns one logit per sample, shape (N,).

Third-party families can also be added at run time with :func:`register_model`.
Layers shared by several families live in :mod:`ganstyle.gan.layers`.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from torch import nn

from ganstyle.errors import GanstyleError
from ganstyle.gan.layers import PackedDiscriminator

# name -> module path; a new family is one new file plus one line here.
MODELS: dict[str, str] = {
    "mlp": "ganstyle.gan.models.mlp",
    "dcgan": "ganstyle.gan.models.dcgan",
    "sngan": "ganstyle.gan.models.sngan",
    "sagan": "ganstyle.gan.models.sagan",
    "cond": "ganstyle.gan.models.cond",
    "biggan": "ganstyle.gan.models.biggan",
    "stylegan-lite": "ganstyle.gan.models.stylegan_lite",
}


def register_model(name: str, module: str | ModuleType) -> None:
    """Make ``--model NAME`` build from ``module`` (a module object or its import path)."""
    if isinstance(module, ModuleType):
        _LOADED[name] = module
        MODELS[name] = module.__name__
    else:
        MODELS[name] = module
        _LOADED.pop(name, None)


_LOADED: dict[str, ModuleType] = {}


def model_family(name: str) -> ModuleType:
    if name not in MODELS:
        raise GanstyleError(f"--model: unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    if name not in _LOADED:
        _LOADED[name] = import_module(MODELS[name])
    return _LOADED[name]


def build_models(cfg, data_shape: tuple[int, ...], num_classes: int | None) -> tuple[nn.Module, nn.Module]:
    fam = model_family(cfg.model)
    if hasattr(fam, "check"):
        fam.check(cfg, tuple(data_shape))
    G = fam.make_generator(cfg, tuple(data_shape), num_classes)
    pack = getattr(cfg, "pack", 1) or 1
    if pack == 1:
        return G, fam.make_discriminator(cfg, tuple(data_shape), num_classes)
    # PacGAN: D sees `pack` samples stacked on channels
    packed_shape = (data_shape[0] * pack,) + tuple(data_shape[1:])
    return G, PackedDiscriminator(fam.make_discriminator(cfg, packed_shape, num_classes), pack)


def build_generator(cfg, data_shape: tuple[int, ...], num_classes: int | None) -> nn.Module:
    fam = model_family(cfg.model)
    return fam.make_generator(cfg, tuple(data_shape), num_classes)


def model_defaults(name: str, cfg=None, data_shape: tuple[int, ...] | None = None) -> dict:
    """The family's defaults; a family with ``defaults_for(cfg)`` may choose them by data (given ``cfg``),
    one with ``defaults_for_shape(data_shape)`` by the shape of one sample (given ``data_shape``)."""
    fam = model_family(name)
    if cfg is not None and hasattr(fam, "defaults_for"):
        defaults = dict(fam.defaults_for(cfg))
    else:
        defaults = dict(getattr(fam, "DEFAULTS", {}))
    if data_shape is not None and hasattr(fam, "defaults_for_shape"):
        defaults.update(fam.defaults_for_shape(tuple(data_shape)))
    return defaults
