"""One measuring protocol for GANs on real MNIST digits at 32 px: data split, feature
classifier, metrics and CPU-time budgets, shared by the digits benchmarks.

Data. The real MNIST *test* set (10,000 digits, IDX files) is split once: digits
0-7,999 are the **training pool**, digits 8,000-9,999 are **held out** and used only for
measuring. Every 28 px digit is **padded** with 2 black pixels on each side to 32 px (no
resampling, so the pixels are MNIST's own). The first ``n_train`` digits of the pool are
written as PNGs into a training folder ``OUT/train<n_train>/<digit>/<index>.png``; the
first-level sub-folders give ``folder:`` data its class labels, so class-conditional
models train from the same folder.

Features. ganstyle's own domain classifier (:mod:`ganstyle.metrics.extractors.classifier`)
at 32 px, trained on the 8,000 pool digits only (never on held-out ones; its accuracy on
the held-out digits is reported in ``Prepared.classifier_info``), cached as safetensors in
``OUT/extractors/`` and loaded through the normal extractor path
(:func:`ganstyle.metrics.extractors.classifier_extractor`).

Metrics, all against the 2,000 held-out digits with those features, by
:func:`ganstyle.metrics.evaluate.evaluate_generator`: FID, KID, precision/recall (k-NN, k=3)
and ganstyle's class coverage (``modes``: classes with a confidently classified sample;
``hq``; ``rkl``: KL of the predicted-class histogram to uniform). On top, the predicted-class
histogram itself and ``class_coverage``: the fraction of the 10 classes that get at least
:data:`COVERAGE_SHARE` of the samples. :func:`reference` scores real pool digits the same
way: the floor a generator could reach.

CPU budget. A "CPU-second" is one second of *process* CPU time (``time.process_time()``)
with one thread (``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``); wall time is not
used because other jobs on the machine inflate it. :func:`train_for_cpu` runs the
trainer's own loop until the budget is spent.

API (stable)::

    import sys; sys.path.insert(0, "benchmarks"); import mnist_protocol as mp
    prep = mp.prepare("../shared/data/mnist", "runs/bench/mnist", n_train=8000)  # -> Prepared
    trainer, timing = mp.train_run(prep, "runs/x", cpu_seconds=180, model="dcgan")
    scores = mp.measure(trainer, prep, n=2000, seed=0)   # or a run dir, a LoadedGenerator,
                                                         # a callable n -> images, an image tensor
    floor = mp.reference(prep, n=2000, seed=0)
"""

from __future__ import annotations

import gzip
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

IMAGE_SIZE = 32
PAD = (IMAGE_SIZE - 28) // 2
POOL_SIZE = 8000
HELDOUT_SIZE = 2000
NUM_CLASSES = 10
# A class is "covered" when it gets at least a fifth of its fair share of the samples.
COVERAGE_SHARE = 0.2 / NUM_CLASSES
METRICS = ("fid", "kid", "pr", "modes")
IMAGES_FILE, LABELS_FILE = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"


@dataclass
class Prepared:
    """The split data and the feature extractor of one protocol directory."""

    out_dir: Path
    n_train: int
    train_dir: Path                 # the training folder: train_dir/<digit>/<index>.png
    data_spec: str                  # "folder:<train_dir>" for TrainConfig.data / --data
    train: Any                      # the training folder loaded as ganstyle loads --data folder: (1 ch, 32 px)
    pool: Any                       # all 8,000 training-pool digits (Dataset, labelled)
    heldout: Any                    # the 2,000 held-out digits (Dataset, labelled): measuring only
    extractor: Any                  # ganstyle Extractor: the classifier trained on the pool
    classifier_info: dict = field(default_factory=dict)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip) as a uint8 array of its declared shape."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist_test(mnist_dir) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (10000, 32, 32) padded, labels int64 (10000,))."""
    root = Path(mnist_dir).expanduser()
    images, labels = read_idx(root / IMAGES_FILE), read_idx(root / LABELS_FILE)
    if len(images) < POOL_SIZE + HELDOUT_SIZE or len(images) != len(labels):
        raise ValueError(f"{root}: expected {POOL_SIZE + HELDOUT_SIZE} labelled digits, found {len(images)}")
    return np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD))), labels.astype(np.int64)


def as_dataset(images: np.ndarray, labels: np.ndarray, name: str):
    from ganstyle.data import Dataset

    x = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)[:, None]
    return Dataset(name=name, x=x, y=torch.from_numpy(labels), num_classes=NUM_CLASSES,
                   class_names=[str(k) for k in range(NUM_CLASSES)])


def write_train_folder(images: np.ndarray, labels: np.ndarray, folder: Path) -> None:
    """PNG per digit under folder/<label>/, written to a temporary folder and renamed into place."""
    from PIL import Image

    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    for k in range(NUM_CLASSES):
        (tmp / str(k)).mkdir(parents=True)
    for i, (img, label) in enumerate(zip(images, labels)):
        Image.fromarray(img, mode="L").save(tmp / str(int(label)) / f"{i:05d}.png")
    tmp.rename(folder)


def classifier_config():
    from ganstyle.metrics.extractors.classifier import DEFAULT_CLASSIFIER

    # the cache file's name carries "dataset": this one is MNIST's pool, not a downloadable set
    return replace(DEFAULT_CLASSIFIER, dataset=f"mnist-pool{POOL_SIZE}", image_size=IMAGE_SIZE)


def prepare(mnist_dir, out_dir, n_train: int = POOL_SIZE) -> Prepared:
    """Split, write the training folder and train (or load) the classifier; cached in ``out_dir``."""
    from ganstyle.data import load_dataset
    from ganstyle.metrics.extractors import classifier_extractor
    from ganstyle.metrics.extractors.classifier import load_or_train_classifier

    if not 1 <= n_train <= POOL_SIZE:
        raise ValueError(f"n_train must be in 1..{POOL_SIZE}, got {n_train}")
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    images, labels = load_mnist_test(mnist_dir)
    pool = as_dataset(images[:POOL_SIZE], labels[:POOL_SIZE], f"mnist-pool{POOL_SIZE}")
    held = slice(POOL_SIZE, POOL_SIZE + HELDOUT_SIZE)
    heldout = as_dataset(images[held], labels[held], "mnist-heldout")
    train_dir = out / f"train{n_train}"
    if not train_dir.is_dir():
        write_train_folder(images[:n_train], labels[:n_train], train_dir)
    spec = f"folder:{train_dir}"
    train = load_dataset(spec, image_size=IMAGE_SIZE, channels=1)
    cfg = classifier_config()
    load_or_train_classifier(cfg, cache_dir=out, data=(pool, heldout))  # trains only if not cached
    ext = classifier_extractor(cfg.dataset, cache_dir=out, config=cfg)
    info = {k: v for k, v in ext.info.items() if k != "path"}
    return Prepared(out, n_train, train_dir, spec, train, pool, heldout, ext, info)


# ------------------------------------------------------------------ measuring


def samples_of(source, n: int, seed: int) -> torch.Tensor:
    """``n`` images from a trainer, a LoadedGenerator, a run directory, a callable or a tensor."""
    if isinstance(source, torch.Tensor):
        if len(source) < n:
            raise ValueError(f"need {n} samples, got {len(source)}")
        return source[:n].float().cpu()
    if isinstance(source, (str, Path)):
        from ganstyle.gan.generator import load_generator

        source = load_generator(source)
    generate = getattr(source, "generate", None)
    if generate is not None:
        return generate(n, seed=seed).float().cpu()
    return torch.as_tensor(source(n)).float().cpu()


def class_histogram(images: torch.Tensor, prepared: Prepared) -> np.ndarray:
    """Share of ``images`` the classifier assigns to each class."""
    from ganstyle.metrics.features import quantize

    _, logits = prepared.extractor.run(quantize(images))
    return np.bincount(logits.argmax(1), minlength=NUM_CLASSES) / len(images)


def measure(source, prepared: Prepared, n: int = HELDOUT_SIZE, seed: int = 0, metrics=METRICS) -> dict:
    """FID, KID, precision/recall and class coverage of ``n`` samples against the held-out digits."""
    from ganstyle.metrics.evaluate import evaluate_generator

    t0 = time.process_time()
    x = samples_of(source, n, seed)
    if tuple(x.shape[1:]) != (1, IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"samples have shape {tuple(x.shape[1:])}; the protocol measures 1x{IMAGE_SIZE}x{IMAGE_SIZE}")
    scores = evaluate_generator(lambda m: x[:m], prepared.heldout, list(metrics), n=n, seed=seed,
                                extractor=prepared.extractor, cache_dir=prepared.out_dir)
    hist = class_histogram(x, prepared)
    scores.update(class_hist=[round(float(h), 4) for h in hist],
                  class_coverage=float((hist >= COVERAGE_SHARE).mean()),
                  n=n, seed=seed, extractor=prepared.extractor.name,
                  extractor_sha256=prepared.extractor.checksum, measure_cpu_seconds=time.process_time() - t0)
    return scores


def reference(prepared: Prepared, n: int = HELDOUT_SIZE, seed: int = 0) -> dict:
    """Real training-pool digits (a seeded sample of ``n``, disjoint from the held-out ones) measured
    like a generator: the floor of every metric at this sample size."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(prepared.pool), generator=g)[:n].sort().values
    return measure(prepared.pool.x[idx], prepared, n=n, seed=seed)


# ------------------------------------------------------------------ training under a CPU budget


def train_for_cpu(trainer, cpu_seconds: float) -> dict:
    """Run the trainer's own loop until ``cpu_seconds`` of process CPU time are spent: it stops
    after the first generator step that ends past the budget, then writes its samples and checkpoint."""
    g_step, start = trainer.g_step, time.process_time()

    def budgeted_g_step():
        g_step()
        if time.process_time() - start >= cpu_seconds:
            trainer.cfg.steps = trainer.step + 1  # the loop ends after this step

    trainer.g_step = budgeted_g_step
    c0, t0 = time.process_time(), time.perf_counter()
    trainer.train(progress=False)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    return {"steps": trainer.step, "cpu_seconds": cpu, "wall_seconds": wall, "threads": torch.get_num_threads(),
            "img_per_cpu_s": trainer.step * trainer.cfg.batch_size / max(cpu, 1e-9)}


def train_config(prepared: Prepared, **overrides):
    """A TrainConfig on the protocol's training folder (1 channel, 32 px, CPU, no periodic outputs)."""
    from ganstyle.gan.trainer import TrainConfig

    base = dict(data=prepared.data_spec, image_size=IMAGE_SIZE, channels=1, device="cpu", steps=10**9,
                log_every=50, sample_every=0, ckpt_every=0, keep_checkpoints=1)
    return TrainConfig(**{**base, **overrides})


def train_run(prepared: Prepared, run_dir, cpu_seconds: float, **overrides):
    """Build a trainer on the training folder and train it for ``cpu_seconds``; returns (trainer, timing)."""
    from ganstyle.gan.trainer import GANTrainer

    trainer = GANTrainer(train_config(prepared, **overrides), run_dir, dataset=prepared.train)
    return trainer, train_for_cpu(trainer, cpu_seconds)
