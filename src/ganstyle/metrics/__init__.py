"""Measure generative models: FID, KID, Inception Score, precision/recall, mode coverage.

- :mod:`~ganstyle.metrics.frechet` — Fréchet distance in float64 (FID),
- :mod:`~ganstyle.metrics.kid` — Kernel Inception Distance (unbiased MMD², cubic kernel),
- :mod:`~ganstyle.metrics.inception_score` — Inception Score,
- :mod:`~ganstyle.metrics.prdc` — precision/recall (k-NN manifolds), density/coverage,
- :mod:`~ganstyle.metrics.modes` — mode coverage on the 2-D toy mixtures,
- :mod:`~ganstyle.metrics.features` — streaming statistics and the reference-statistics cache,
- :mod:`~ganstyle.metrics.extractors` — FID Inception-v3, the domain classifier, your own,
- :mod:`~ganstyle.metrics.evaluate` — generators, runs and folders end to end.
"""

from importlib import import_module

_EXPORTS = {
    "frechet_distance": "ganstyle.metrics.frechet",
    "fid_from_features": "ganstyle.metrics.frechet",
    "kernel_inception_distance": "ganstyle.metrics.kid",
    "inception_score": "ganstyle.metrics.inception_score",
    "precision_recall": "ganstyle.metrics.prdc",
    "mode_coverage": "ganstyle.metrics.modes",
    "toy_mode_coverage": "ganstyle.metrics.modes",
    "Extractor": "ganstyle.metrics.extractors",
    "evaluate_generator": "ganstyle.metrics.evaluate",
    "fid_between": "ganstyle.metrics.evaluate",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ganstyle.metrics' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
