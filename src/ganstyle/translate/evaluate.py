"""Measuring a translator: is the content kept, does the output look like the target domain?

Small CNN judges are trained on the run's own two domains (seconds on a CPU, deterministic):

- ``looks_b``: a domain network trained on A ∪ B (classes: domain x digit where digit labels
  are known, else just the domain). Its summed domain-B probability > 0.5 calls an image
  "B"; its 128-d penultimate features are the space of ``fid``/``kid`` between A → B
  translations and real B images (the extractor machinery of :mod:`ganstyle.metrics`).
- ``content_b`` (digits pair): a digits classifier trained on B's labels, applied to A → B.
- ``content_cycle`` (digits pair): a digits classifier trained on A's labels, applied to A → B → A.
- ``diversity`` (MUNIT): mean LPIPS-like distance between translations of one input with
  different style codes: channel-normalised feature maps of the domain network's conv
  layers, squared differences averaged over positions and summed over layers.

Labels serve only these judges; the translators never see them. Each judge's accuracy on
images it was not trained on is reported beside the figures, so a weak judge shows.
Inputs are the pair's held-out A images where it has them (digits), else domain A.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganstyle.errors import GanstyleError
from ganstyle.translate.data import DomainPair

JUDGE_SIZE = 32  # judges see every image at this size


class JudgeNet(nn.Module):
    """Three conv stages (32 → 16 → 8 → 4 px), a 128-d feature layer, a linear head."""

    def __init__(self, num_classes: int, width: int = 32, feature_dim: int = 128):
        super().__init__()
        w = width
        self.stages = nn.ModuleList([
            nn.Sequential(nn.Conv2d(3, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU()),
            nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU()),
            nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU()),
        ])
        self.features = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * w * 16, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, num_classes)

    @staticmethod
    def prepare(x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        if x.shape[-1] != JUDGE_SIZE or x.shape[-2] != JUDGE_SIZE:
            x = F.interpolate(x, size=(JUDGE_SIZE, JUDGE_SIZE), mode="bilinear", align_corners=False, antialias=True)
        return x

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps, h = [], self.prepare(x)
        for stage in self.stages:
            h = stage(h)
            maps.append(h)
        return maps

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(self.feature_maps(x)[-1])
        return f, self.head(f)


def _shift(x: torch.Tensor, g: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """One random translation per batch, padding by edge replication."""
    dy, dx = (int(v) for v in torch.randint(-max_shift, max_shift + 1, (2,), generator=g))
    padded = F.pad(x, (max_shift,) * 4, mode="replicate")
    h, w = x.shape[-2:]
    return padded[..., max_shift + dy:max_shift + dy + h, max_shift + dx:max_shift + dx + w]


@torch.no_grad()
def predict(model: JudgeNet, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Logits for every image, in batches."""
    return torch.cat([model(x[i:i + batch_size])[1] for i in range(0, len(x), batch_size)])


def fit_judge(x: torch.Tensor, y: torch.Tensor, num_classes: int, *, epochs: int = 15, batch_size: int = 64,
              lr: float = 3e-3, seed: int = 0) -> tuple[JudgeNet, float]:
    """Train on all but every 7th image; return (model in eval mode, accuracy on those held out)."""
    x = JudgeNet.prepare(x)
    held = torch.arange(len(x)) % 7 == 3
    x_fit, y_fit = x[~held], y[~held]
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = JudgeNet(num_classes)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * -(-len(x_fit) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x_fit), generator=g)
        for i in range(0, len(x_fit), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(_shift(x_fit[idx], g))[1], y_fit[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    model.eval().requires_grad_(False)
    acc = float((predict(model, x[held]).argmax(1) == y[held]).float().mean()) if held.any() else float("nan")
    return model, acc


@dataclass
class Judges:
    """The networks that score translations for one domain pair (see the module docstring)."""

    domain: JudgeNet
    domain_classes_b: list[int]  # head classes that mean "domain B"
    digits_a: JudgeNet | None
    digits_b: JudgeNet | None
    accuracy: dict[str, float]
    checksum: str


def train_judges(pair: DomainPair, seed: int = 0, epochs: int = 15) -> Judges:
    """Train the domain network and, where digit labels exist, the two digit classifiers."""
    n_a, n_b = len(pair.a), len(pair.b)
    labelled = pair.a_labels is not None and pair.b_labels is not None
    if labelled:  # class = domain * 10 + digit: features that separate domains *and* digits
        y = torch.cat([pair.a_labels, pair.b_labels + 10])
        classes_b = list(range(10, 20))
    else:
        y = torch.cat([torch.zeros(n_a, dtype=torch.long), torch.ones(n_b, dtype=torch.long)])
        classes_b = [1]
    domain, acc_domain = fit_judge(torch.cat([pair.a, pair.b]), y, 2 * len(classes_b), seed=seed, epochs=epochs)
    accuracy = {"judge_domain_classes": acc_domain}
    digits_a = digits_b = None
    if labelled:
        digits_a, accuracy["judge_digits_a"] = fit_judge(pair.a, pair.a_labels, 10, seed=seed + 1, epochs=epochs)
        digits_b, accuracy["judge_digits_b"] = fit_judge(pair.b, pair.b_labels, 10, seed=seed + 2, epochs=epochs)
    h = hashlib.sha256()
    for net in (domain, digits_a, digits_b):
        for t in (net.state_dict().values() if net is not None else ()):
            h.update(t.numpy().tobytes())
    return Judges(domain, classes_b, digits_a, digits_b, accuracy, h.hexdigest())


def looks_like_b(judges: Judges, x: torch.Tensor) -> float:
    """Share of images whose summed domain-B probability exceeds 1/2."""
    p = predict(judges.domain, x).softmax(1)[:, judges.domain_classes_b].sum(1)
    return float((p > 0.5).float().mean())


def lpips_like(judges: Judges, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-pair distance: unit-normalised channels of each conv stage, squared difference
    averaged over positions, summed over stages (the LPIPS recipe without learned weights)."""
    with torch.no_grad():
        fx, fy = judges.domain.feature_maps(x), judges.domain.feature_maps(y)
    d = torch.zeros(len(x))
    for a, b in zip(fx, fy):
        a = a / (a.norm(dim=1, keepdim=True) + 1e-10)
        b = b / (b.norm(dim=1, keepdim=True) + 1e-10)
        d += (a - b).pow(2).sum(1).mean((1, 2))
    return d


def _batched(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int = 128) -> torch.Tensor:
    return torch.cat([fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def measure(pair: DomainPair, judges: Judges, a2b: Callable, b2a: Callable | None = None,
            a2b_styles: Callable | None = None, *, n: int | None = None, n_styles: int = 4) -> dict:
    """Records for one translator given as functions of image batches.

    ``a2b``/``b2a`` translate a batch; ``a2b_styles(x, k)`` returns k translations of each
    input, (k, N, C, H, W), for the diversity figure (MUNIT).
    """
    from ganstyle.metrics.frechet import fid_from_features
    from ganstyle.metrics.extractors import Extractor
    from ganstyle.metrics.kid import kernel_inception_distance

    x, labels = (pair.a_test, pair.a_test_labels) if pair.a_test is not None else (pair.a, pair.a_labels)
    if n is not None:
        x, labels = x[:n], (labels[:n] if labels is not None else None)
    ab = _batched(a2b, x).clamp(-1, 1)
    extractor = Extractor(fn=judges.domain, name="translate-domain-judge", checksum=judges.checksum, batch_size=256)
    f_ab, _ = extractor.run(ab)
    f_b, _ = extractor.run(pair.b)
    kid, kid_std = kernel_inception_distance(f_ab, f_b, subsets=50, subset_size=min(1000, len(f_ab), len(f_b)))
    records = [
        {"metric": "looks_b", "value": looks_like_b(judges, ab), "n_fake": len(ab)},
        {"metric": "fid", "value": fid_from_features(f_ab, f_b), "n_fake": len(ab), "n_real": len(f_b)},
        {"metric": "kid", "value": kid, "std": kid_std, "n_fake": len(ab), "n_real": len(f_b)},
    ]
    if judges.digits_b is not None and labels is not None:
        acc = (predict(judges.digits_b, ab).argmax(1) == labels).float().mean()
        records.append({"metric": "content_b", "value": float(acc), "n_fake": len(ab)})
        if b2a is not None:
            aba = _batched(b2a, ab).clamp(-1, 1)
            acc = (predict(judges.digits_a, aba).argmax(1) == labels).float().mean()
            records.append({"metric": "content_cycle", "value": float(acc), "n_fake": len(ab)})
    if a2b_styles is not None and n_styles > 1:
        m = min(len(x), 100)
        outs = a2b_styles(x[:m], n_styles).clamp(-1, 1)  # (k, m, C, H, W)
        dists = [lpips_like(judges, outs[i], outs[j]) for i in range(n_styles) for j in range(i + 1, n_styles)]
        records.append({"metric": "diversity", "value": float(torch.stack(dists).mean()), "n_fake": m, "styles": n_styles})
    return {"records": records, "extractor": extractor.name, "extractor_sha256": judges.checksum,
            "judges": judges.accuracy}


def model_functions(model, seed: int = 0) -> dict[str, Callable]:
    """``a2b``, ``b2a`` (and ``a2b_styles`` for MUNIT) of a trained model, seeded."""
    g = torch.Generator().manual_seed(seed)
    fns = {"a2b": lambda x: model.translate(x, "a2b", generator=g), "b2a": lambda x: model.translate(x, "b2a", generator=g)}
    if model.kind == "munit":
        def a2b_styles(x: torch.Tensor, k: int) -> torch.Tensor:
            styles = model.random_style(k, x.device, g)
            return torch.stack([model.translate(x, "a2b", style=s[None]) for s in styles])

        fns["a2b_styles"] = a2b_styles
    return fns


def evaluate_translation(run: str | Path, *, n: int | None = None, json_path: str | Path | None = None,
                         seed: int = 0, device: str = "cpu", log: bool = True) -> dict:
    """Measure a run's newest checkpoint on its own domains; optionally write JSON and log to the run."""
    from ganstyle.io.images import atomic_write_text
    from ganstyle.io.runlog import append_csv, append_jsonl
    from ganstyle.translate.api import load_translator
    from ganstyle.translate.data import load_domains
    from ganstyle.translate.trainer import split_settings

    if n is not None and n < 2:
        raise GanstyleError(f"--n: must be at least 2, got {n}")
    t0 = time.process_time()
    model, state = load_translator(run, device)
    cfg, _ = split_settings(state["config"], str(run))
    pair = load_domains(cfg.domain_a, cfg.domain_b, cfg.image_size, cfg.seed)
    judges = train_judges(pair, seed)
    with torch.no_grad():
        result = measure(pair, judges, **model_functions(model, seed), n=n)
    step = int(state["step"])
    result = {"run": str(run), "step": step, "model": cfg.model, "domains": pair.name, "seed": seed,
              **result, "seconds": time.process_time() - t0}
    if json_path:
        atomic_write_text(json_path, json.dumps(result, indent=2, default=float) + "\n")
    if log and Path(run).is_dir():
        append_jsonl(Path(run) / "metrics.jsonl", {"event": "eval", **result})
        append_csv(Path(run) / "metrics.csv", [{"step": step, **{r["metric"]: r["value"] for r in result["records"]}}])
    return result


def flat_figures(result: dict) -> dict[str, float]:
    return {r["metric"]: float(np.round(r["value"], 6)) for r in result["records"]}
