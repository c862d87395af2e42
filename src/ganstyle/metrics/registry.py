"""The metric registry: a metric is one function of features and reference, registered by name.

A metric turns :class:`MetricInputs` (generated samples, their features and logits, the real
data's features) into records, one dict per number::

    from ganstyle.metrics.registry import MetricInputs, register_metric

    @register_metric("mean-gap", help="distance between the feature means", kinds=("images", "points"))
    def mean_gap(inputs: MetricInputs) -> list[dict]:
        gap = float(np.linalg.norm(inputs.features.mean(0) - inputs.reference.mu))
        return [inputs.record("mean-gap", gap)]

:func:`ganstyle.metrics.evaluate.compute_metrics` loops over the names asked for, so a new
metric needs no other edit; ``ganstyle eval --help`` lists the registry. Built-in metrics
register themselves in their own modules, named in :data:`BUILTIN_MODULES`. A metric that
cannot run on its inputs raises :class:`MetricSkipped` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Callable

import numpy as np
import torch

# The modules whose import registers the built-in metrics (one line per metric module).
BUILTIN_MODULES = (
    "ganstyle.metrics.frechet",
    "ganstyle.metrics.kid",
    "ganstyle.metrics.inception_score",
    "ganstyle.metrics.prdc",
    "ganstyle.metrics.modes",
)
KINDS = ("images", "points")


class MetricSkipped(Exception):
    """A metric does not apply to these inputs; the message says why (reported, not fatal)."""


@dataclass
class MetricInputs:
    """What every metric sees. For 2-D points the features are the points themselves."""

    fake: torch.Tensor            # generated samples, CPU float32
    features: np.ndarray          # their features, (N, D)
    logits: np.ndarray | None     # class logits from the extractor, if it has a head
    reference: Any                # the real data's FeatureSet (features, mu, sigma)
    dataset: Any                  # the real Dataset (name, kind, num_classes, meta)
    extractor: str                # the extractor's name ("identity" for points)
    seed: int
    base: dict[str, Any]          # fields every record carries: seed, n_fake, n_real, extractor, checksum
    options: dict[str, Any] = field(default_factory=dict)  # kid_subsets, kid_subset_size, pr_k, is_splits

    def record(self, metric: str, value: float, std: float | None = None, **extra) -> dict[str, Any]:
        return {"metric": metric, "value": float(value), "std": None if std is None else float(std),
                **{**self.base, **extra}}


@dataclass(frozen=True)
class Metric:
    name: str
    compute: Callable[[MetricInputs], list[dict]]
    help: str
    kinds: tuple[str, ...] = KINDS
    supersedes: tuple[str, ...] = ()  # names whose records this metric's records include


_METRICS: dict[str, Metric] = {}


def register_metric(name: str, *, help: str, kinds: tuple[str, ...] = KINDS, supersedes: tuple[str, ...] = ()):
    """Decorator: make ``--metrics NAME`` call the function."""
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"metric {name!r}: unknown data kind(s) {bad}; use {KINDS}")

    def add(fn: Callable[[MetricInputs], list[dict]]):
        _METRICS[name] = Metric(name, fn, help, tuple(kinds), tuple(supersedes))
        return fn

    return add


def metrics() -> dict[str, Metric]:
    """Every registered metric by name, in alphabetical order."""
    for module in BUILTIN_MODULES:
        import_module(module)
    return dict(sorted(_METRICS.items()))


def metric_help() -> str:
    """One line per metric, for command help texts."""
    return "; ".join(f"{m.name} ({m.help})" + ("" if m.kinds == KINDS else f" [{', '.join(m.kinds)} only]")
                     for m in metrics().values())
