"""A small domain classifier that ganstyle trains itself, used as a feature extractor.

Inception features mean little for 8×8 or 28×28 grey digits, and Inception weights may
not be at hand. A CNN trained on the domain's own labelled data gives features (the
128-d penultimate layer) and class logits for FID/KID/IS/precision-recall on that domain
— as the "MNIST classifier" scores of the GAN literature do.

Training is deterministic (seeded init, shuffling and augmentation; float32 on CPU) and
takes seconds. The weights are cached as safetensors under the user cache dir, keyed by
a hash of the training config, and carry their test accuracy in the file's metadata.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ganstyle.errors import GanstyleError

FORMAT = 1


@dataclass(frozen=True)
class ClassifierConfig:
    dataset: str = "digits"  # labelled 1-channel data: digits (bundled) or an MNIST-family set
    image_size: int = 16  # every input is resized to this before the network
    width: int = 32
    feature_dim: int = 128
    epochs: int = 12
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    augment: float = 0.1  # max translation (fraction of the image); rotation and scale scale with it
    seed: int = 0

    def key(self) -> str:
        blob = json.dumps({"format": FORMAT, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


class DomainClassifier(nn.Module):
    def __init__(self, num_classes: int = 10, image_size: int = 16, width: int = 32, feature_dim: int = 128):
        super().__init__()
        self.image_size = image_size
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
            nn.Conv2d(w, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(2 * w * (image_size // 4) ** 2, feature_dim), nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, num_classes)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Any (N, C, H, W) image batch in [-1, 1] -> grey (N, 1, S, S)."""
        if x.shape[1] == 3:
            x = x.mean(dim=1, keepdim=True)
        elif x.shape[1] != 1:
            raise GanstyleError(f"the domain classifier takes 1- or 3-channel images, got {x.shape[1]} channels")
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > self.image_size)
        return x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(self.prepare(x))
        return features, self.head(features)


def _augment(x: torch.Tensor, strength: float, g: torch.Generator) -> torch.Tensor:
    """Random small affine jitter, one matrix per image, applied in one grid_sample call."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=g) * 2 - 1) * strength * math.pi  # 0.1 -> ±18°
    scale = 1 + (torch.rand(n, generator=g) * 2 - 1) * strength
    shift = (torch.rand(n, 2, generator=g) * 2 - 1) * 2 * strength  # grid units span 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # padding with -1 (background) rather than zeros (mid-grey)
    return F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1


def _load_split(cfg: ClassifierConfig, split: str):
    if cfg.dataset == "digits":
        from ganstyle.data.digits import load_digits_dataset

        return load_digits_dataset(image_size=cfg.image_size, channels=1, split=split)
    from ganstyle.data import load_dataset

    return load_dataset(cfg.dataset, image_size=cfg.image_size, channels=1, split="train" if split == "fit" else split)


@torch.no_grad()
def accuracy(model: DomainClassifier, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    model.eval()
    hits = sum(int((model(x[i:i + batch_size])[1].argmax(1) == y[i:i + batch_size]).sum())
               for i in range(0, len(x), batch_size))
    return hits / len(x)


def train_classifier(cfg: ClassifierConfig = ClassifierConfig(), *, verbose: bool = False,
                     data: tuple | None = None) -> tuple[DomainClassifier, dict]:
    """Train from scratch; returns the model (eval mode) and a dict with its test accuracy.

    ``data``: ``(fit, test)`` labelled :class:`~ganstyle.data.Dataset` objects to use instead of
    ``cfg.dataset``'s own splits (e.g. a benchmark's training part and held-out part); they must
    already be 1-channel at ``cfg.image_size``.
    """
    fit, test = data if data is not None else (_load_split(cfg, "fit"), _load_split(cfg, "test"))
    if fit.y is None:
        raise GanstyleError(f"{cfg.dataset}: the domain classifier needs labelled data")
    num_classes = int(fit.num_classes or int(fit.y.max()) + 1)
    g = torch.Generator().manual_seed(cfg.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = DomainClassifier(num_classes, cfg.image_size, cfg.width, cfg.feature_dim)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(fit) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch)
    t0 = time.process_time()
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.randperm(len(fit), generator=g)
        for i in range(0, len(fit), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            x = fit.x[idx]
            if cfg.augment > 0:
                x = _augment(x, cfg.augment, g)
            loss = F.cross_entropy(model(x)[1], fit.y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if verbose:
            print(f"epoch {epoch + 1}/{cfg.epochs} loss {loss.item():.4f}")
    model.eval().requires_grad_(False)
    info = {"test_accuracy": accuracy(model, test.x, test.y), "fit_accuracy": accuracy(model, fit.x, fit.y),
            "num_classes": num_classes, "train_cpu_seconds": time.process_time() - t0,
            "n_fit": len(fit), "n_test": len(test)}
    return model, info


# what ``--extractor classifier`` trains; ``dataset`` is replaced per use
DEFAULT_CLASSIFIER = ClassifierConfig()


def classifier_path(cfg: ClassifierConfig, cache_dir: str | Path | None = None) -> Path:
    from ganstyle.metrics.features import default_cache_dir

    root = Path(cache_dir) if cache_dir else default_cache_dir()
    return root / "extractors" / f"classifier-{cfg.dataset}-{cfg.key()}.safetensors"


def load_or_train_classifier(cfg: ClassifierConfig = ClassifierConfig(), *, cache_dir: str | Path | None = None,
                             verbose: bool = False, data: tuple | None = None) -> tuple[DomainClassifier, dict]:
    """The cached classifier for ``cfg`` (training and caching it on first use) and its info
    (test accuracy, config, ``sha256`` of the weights file). ``data``: see :func:`train_classifier`;
    ``cfg.dataset`` then only names the cache file, so give each such data its own name."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from ganstyle.io.checkpoints import sha256_file
    from ganstyle.io.images import atomic_path

    path = classifier_path(cfg, cache_dir)
    if path.is_file():
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
        info = json.loads(meta.get("info", "{}"))
        model = DomainClassifier(int(info.get("num_classes", 10)), cfg.image_size, cfg.width, cfg.feature_dim)
        try:
            model.load_state_dict(state)
        except RuntimeError:
            raise GanstyleError(f"cached classifier {path} does not match its config; delete it to retrain") from None
        model.eval().requires_grad_(False)
    else:
        model, info = train_classifier(cfg, verbose=verbose, data=data)
        info["config"] = asdict(cfg)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp),
                      metadata={"info": json.dumps(info)})
    info["sha256"] = sha256_file(path)
    info["path"] = str(path)
    return model, info
