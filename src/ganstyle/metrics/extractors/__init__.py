"""Feature extractors: images in [-1, 1] -> (features, logits or None).

An extractor is one function ``images (N, C, H, W) -> features (N, D)`` or
``-> (features (N, D), logits (N, K))``; :class:`Extractor` wraps it with a name and the
checksum of its weights (both recorded with every result) and runs it over a large
tensor in batches, without gradients, optionally under bf16 autocast. Built in:

- ``inception``: the FID Inception-v3 (2048-d pool features, 1008 logits),
- ``classifier``: ganstyle's own domain classifier for 1-channel digit-like data.

Users bring their own with ``Extractor(fn=my_fn, name="clip-vit-b32", checksum=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ganstyle.errors import GanstyleError

EXTRACTOR_NAMES = ("auto", "inception", "classifier")
# 1-channel labelled sets the domain classifier can be trained on
CLASSIFIER_DATASETS = ("digits", "mnist", "fashion-mnist")


@dataclass
class Extractor:
    fn: Callable[[torch.Tensor], torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]]
    name: str = "custom"
    checksum: str = "unknown"
    batch_size: int = 64
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    precision: str = "fp32"
    info: dict = field(default_factory=dict)

    @torch.inference_mode()
    def run(self, images: torch.Tensor, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Features (N, D) float32 and logits (N, K) float32 or None, batch by batch."""
        from ganstyle.torch_utils import autocast

        bs = batch_size or self.batch_size
        feats, logits = [], []
        for lo in range(0, len(images), bs):
            x = images[lo:lo + bs].to(self.device, torch.float32)
            with autocast(self.device, self.precision):
                out = self.fn(x)
            f, lg = out if isinstance(out, tuple) else (out, None)
            # statistics accumulate in float64 later; float32 here whatever the autocast dtype
            feats.append(f.float().reshape(len(x), -1).cpu().numpy())
            if lg is not None:
                logits.append(lg.float().cpu().numpy())
        if not feats:
            raise GanstyleError("no images to extract features from")
        return np.concatenate(feats), (np.concatenate(logits) if logits else None)

    def record(self) -> dict:
        return {"extractor": self.name, "extractor_sha256": self.checksum, "precision": self.precision}


def inception_extractor(weights=None, *, device="cpu", precision="fp32", batch_size=32, download=True,
                        random_weights=False) -> Extractor:
    from ganstyle.metrics.extractors.inception import build_fid_inception

    model, checksum = build_fid_inception(weights, download=download, random_weights=random_weights)
    model = model.to(device)
    return Extractor(fn=model, name="inception-v3-fid" + ("-random" if random_weights else ""), checksum=checksum,
                     batch_size=batch_size, device=torch.device(device), precision=precision)


def classifier_extractor(dataset: str = "digits", *, device="cpu", precision="fp32", batch_size=512,
                         cache_dir=None, config=None) -> Extractor:
    from dataclasses import replace

    from ganstyle.metrics.extractors import classifier

    cfg = config or replace(classifier.DEFAULT_CLASSIFIER, dataset=dataset)
    model, info = classifier.load_or_train_classifier(cfg, cache_dir=cache_dir)
    model = model.to(device)
    return Extractor(fn=model, name=f"classifier-{cfg.dataset}", checksum=info["sha256"], batch_size=batch_size,
                     device=torch.device(device), precision=precision, info=info)


def auto_extractor_name(dataset_name: str, channels: int) -> str:
    return "classifier" if channels == 1 and dataset_name.lower() in CLASSIFIER_DATASETS else "inception"


def get_extractor(name: str | Extractor | Callable, *, dataset_name: str = "", channels: int = 3, weights=None,
                  device="cpu", precision="fp32", download=True, cache_dir=None) -> Extractor:
    """Resolve ``auto``/``inception``/``classifier``, an :class:`Extractor`, or a bare callable."""
    if isinstance(name, Extractor):
        return name
    if callable(name):
        return Extractor(fn=name, device=torch.device(device), precision=precision)
    if name == "auto":
        name = auto_extractor_name(dataset_name, channels)
    if name == "inception":
        return inception_extractor(weights, device=device, precision=precision, download=download)
    if name == "classifier":
        ds = dataset_name.lower() if dataset_name.lower() in CLASSIFIER_DATASETS else "digits"
        return classifier_extractor(ds, device=device, precision=precision, cache_dir=cache_dir)
    raise GanstyleError(f"--extractor: unknown extractor {name!r}; choose one of {', '.join(EXTRACTOR_NAMES)}")
