"""The GAN run's settings: :class:`TrainConfig` and how unset fields get their defaults.

Settings only one model family has live in that family's ``Options`` dataclass beside its
model file, nested here as one table per family (``[sagan]`` in config.toml, ``--sagan.attn-res``
on the command line). The flat names (``attn_res``, ``--attn-res``) stay as aliases that fill
the chosen family's table, so older config files load unchanged.

Fields left ``None`` are filled by :func:`resolve_defaults` from, in order, the loss's
published settings (:data:`LOSS_DEFAULTS`), the model family's ``DEFAULTS`` (in its own
file under :mod:`ganstyle.gan.models`) and :data:`GLOBAL_DEFAULTS`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ganstyle.config import field, from_dict, read_config_file, to_dict, validate
from ganstyle.errors import GanstyleError
from ganstyle.gan.image_shape import resolve_image_shape
from ganstyle.gan.losses import LOSSES
from ganstyle.gan.models import biggan, cond, model_defaults, model_family, sagan, sngan, stylegan_lite
from ganstyle.gan.regularizers import check_zoo_options
from ganstyle.torch_utils import PRECISIONS


def by_family(name: str, fallback: Any = None) -> Callable[[], str]:
    """Help text for a default that depends on --model (and --loss), read from the model files'
    ``DEFAULTS``, :data:`LOSS_DEFAULTS` and :data:`GLOBAL_DEFAULTS`: e.g. "0.0002; 0.001 for mlp"."""
    def text() -> str:
        from ganstyle.gan.models import MODELS

        base = GLOBAL_DEFAULTS.get(name, fallback)
        groups: dict[Any, list[str]] = {}
        for model in MODELS:
            value = model_defaults(model).get(name, base)
            if value != base:
                groups.setdefault(value, []).append(model)
        for loss, layer in LOSS_DEFAULTS.items():
            if layer.get(name, base) != base:
                groups.setdefault(layer[name], []).append(f"--loss {loss}")
        return f"{base}" + "".join(f"; {value} for {', '.join(users)}" for value, users in groups.items())
    return text


def steps_default_text() -> str:
    """Help text for --steps: the MLP family sets its own on 2-D mixtures (its benchmarked length)."""
    from ganstyle.gan.models import mlp

    return f"{GLOBAL_DEFAULTS['steps']}; {mlp.POINT_DEFAULTS['steps']} for mlp on {'/'.join(mlp.POINT_DATASETS)}"


@dataclass
class TrainConfig:
    """Every setting of a GAN run. Fields left ``None`` take the model's / loss's defaults."""

    # data
    data: str = field("ring8", help="dataset: ring8, grid25, digits, mnist, fashion-mnist, cifar10 or folder:PATH")
    image_size: int | None = field(None, ge=1, help="image side in pixels (default: the dataset's own size)")
    channels: int | None = field(None, ge=1, le=4, help="image channels, 1 or 3 (default: the dataset's own)")
    data_n: int | None = field(None, ge=1, help="use at most this many training samples")
    cache_dir: str | None = field(None, help="folder for downloaded datasets")
    # model
    model: str = field("mlp", help="model family: mlp, dcgan, sngan, sagan, cond, biggan, stylegan-lite (see ganstyle.gan.models.MODELS)")
    latent_dim: int | None = field(None, ge=1, help="noise dimension", default_text=by_family("latent_dim"))
    g_width: int | None = field(None, ge=1, help="generator width: MLP hidden units or DCGAN channels before the output layer (sngan, sagan, cond, biggan, "
                                "stylegan-lite: half the image side, from 16 up to the value shown; --d-width too)", default_text=by_family("g_width"))
    d_width: int | None = field(None, ge=1, help="discriminator width: MLP hidden units or DCGAN channels of the first layer", default_text=by_family("d_width"))
    depth: int | None = field(None, ge=1, help="hidden layers of the MLP generator and discriminator", default_text=by_family("depth"))
    d_norm: str = field("auto", help="discriminator normalisation (auto: batch norm, layer norm with a gradient penalty; "
                        "sn: spectral norm on every DCGAN discriminator layer)", choices=("auto", "bn", "ln", "none", "sn"))
    mbstd_group: int | None = field(None, ge=0, help="minibatch-stddev group size in D, a counter to mode collapse (0 = off)", default_text=by_family("mbstd_group"))
    conditional: bool = field(False, help="class-conditional G and D (needs labelled data)")
    # objective
    loss: str | None = field(None, help="GAN loss: minimax, ns (non-saturating), hinge, wgan-gp, lsgan", default_text=by_family("loss", "ns"),
                             choices=tuple(LOSSES))
    label_smoothing: float = field(0.0, ge=0, lt=1, help="one-sided label smoothing: real target 1 - this (minimax, ns, lsgan)")
    gp_weight: float | None = field(None, ge=0, help="gradient penalty weight", default_text=by_family("gp_weight"))
    r1_gamma: float | None = field(None, ge=0, help="R1 penalty gamma on real data, 0 = off", default_text=by_family("r1_gamma"))
    # optimisation
    steps: int | None = field(None, ge=1, help="generator updates in total (a resumed run continues up to this)",
                              default_text=steps_default_text)
    batch_size: int | None = field(None, ge=1, help="batch size", default_text=by_family("batch_size"))
    g_lr: float | None = field(None, gt=0, help="generator Adam learning rate", default_text=by_family("g_lr"))
    d_lr: float | None = field(None, gt=0, help="discriminator Adam learning rate (TTUR: may differ from --g-lr)", default_text=by_family("d_lr"))
    beta1: float | None = field(None, ge=0, lt=1, help="Adam beta1", default_text=by_family("beta1"))
    beta2: float | None = field(None, ge=0, lt=1, help="Adam beta2", default_text=by_family("beta2"))
    n_critic: int | None = field(None, ge=1, help="discriminator updates per generator update", default_text=by_family("n_critic"))
    ema_decay: float | None = field(None, ge=0, lt=1, help="decay of the generator weight average used for samples (0 = no averaging)",
                                    default_text=by_family("ema_decay"))
    lr_decay: float | None = field(None, ge=0, le=1, help="fraction of the final steps over which both learning rates fall "
                                   "linearly to 0 (0 = constant)", default_text=by_family("lr_decay"))
    # run
    seed: int = field(0, help="random seed (runs are bit-exact on CPU for a given seed)")
    device: str = field("auto", help="auto, cpu, cuda or cuda:N")
    precision: str = field("auto", help="auto (bf16 where the hardware runs it natively: CPUs with AMX or AVX-512 BF16, "
                           "recent GPUs; fp32 otherwise), fp32, bf16 (autocast) or fp16 (GPU only)", choices=PRECISIONS)
    channels_last: bool = field(False, help="channels-last memory format for conv models (faster with bf16/fp16 on GPUs)")
    compile: bool = field(False, help="torch.compile the training forward passes (slow start; see README 'Scaling up')")
    sync_bn: bool = field(False, help="under torchrun on GPUs: batch-norm statistics over the global batch (SyncBatchNorm)")
    log_every: int = field(50, ge=1, help="steps between loss log lines (and NaN checks)")
    sample_every: int = field(500, ge=0, help="steps between fixed-noise sample grids (0 = only at the end)")
    ckpt_every: int = field(1000, ge=0, aliases=("checkpoint_every",), help="steps between checkpoints (0 = only at the end; a checkpoint also precedes every evaluation)")
    keep_checkpoints: int = field(3, ge=0, help="how many recent checkpoints to keep (0 = all)")
    n_samples: int = field(64, ge=1, help="images in each sample grid (2-D data: 20x this many points)")
    eval_every: int = field(0, ge=0, help="steps between metric evaluations (0 = off)")
    eval_metrics: str = field("", help="comma-separated metrics for --eval-every, e.g. fid,kid (images) or modes (2-D data); the registry is listed by ganstyle eval --help")
    eval_n: int = field(5000, ge=2, help="generated samples per evaluation")
    tensorboard: bool = field(False, help="also write TensorBoard event files to RUN/tensorboard (needs ganstyle[tensorboard])")
    # model zoo: architecture options, regularisers and tricks (see ganstyle.gan.layers, augment, regularizers)
    # flat aliases of the chosen family's own settings (kept so that older config files and flags still work)
    attn_res: int | None = field(None, ge=0, help="alias of --MODEL.attn-res for the chosen --model (ResNet families)")
    g_sn: bool | None = field(None, help="alias of --MODEL.g-sn for the chosen --model (ResNet families)")
    mapping_layers: int | None = field(None, ge=1, help="alias of --stylegan-lite.mapping-layers")
    style_mixing: float | None = field(None, ge=0, le=1, help="alias of --stylegan-lite.style-mixing")
    pack: int = field(1, ge=1, help="PacGAN: D judges this many samples at once (Lin et al. 2018); 1 = off")
    diffaugment: str = field("", help="DiffAugment policies for real and fake images seen by D, e.g. color,translation,cutout")
    r2_gamma: float = field(0.0, ge=0, help="R2 penalty gamma on generated data (0 = off)")
    reg_every: int | None = field(None, ge=1, help="lazy R1/R2: penalise every k-th D step, scaled by k", default_text=by_family("reg_every"))
    ema_start: int = field(0, ge=0, help="generator EMA copies the weights until this step, then averages (warm-up)")
    # each family's own typed settings, defined beside its model file (only the chosen one is written to config.toml)
    sngan: sngan.Options = dataclasses.field(default_factory=sngan.Options)
    sagan: sagan.Options = dataclasses.field(default_factory=sagan.Options)
    cond: cond.Options = dataclasses.field(default_factory=cond.Options)
    biggan: biggan.Options = dataclasses.field(default_factory=biggan.Options)
    stylegan_lite: stylegan_lite.Options = dataclasses.field(default_factory=stylegan_lite.Options)

    def __post_init__(self) -> None:
        # A flat alias (attn_res = 16 in an older config.toml, or --attn-res) goes into the chosen family's table.
        flat = {name: getattr(self, name) for name in FLAT_ALIASES if getattr(self, name) is not None}
        if not flat:
            return
        table = self.options
        own = {f.name for f in dataclasses.fields(table)} if table is not None else set()
        for name in flat:
            if name not in own:
                raise GanstyleError(f"--{name.replace('_', '-')}: model {self.model!r} has no such setting")
        setattr(self, family_key(self.model), dataclasses.replace(table, **flat))
        for name in flat:
            setattr(self, name, None)

    @property
    def options(self) -> Any:
        """The chosen model family's own settings (e.g. ``cfg.sagan``), or None if it has none."""
        return getattr(self, family_key(self.model), None)


FLAT_ALIASES = ("attn_res", "g_sn", "mapping_layers", "style_mixing")
FAMILY_TABLES = ("sngan", "sagan", "cond", "biggan", "stylegan_lite")


def family_key(model: str) -> str:
    """The TrainConfig field holding a family's settings: ``stylegan-lite`` -> ``stylegan_lite``."""
    return model.replace("-", "_")


def config_file_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The config as written to config.toml: the chosen family's table only."""
    data = to_dict(cfg)
    for key in FAMILY_TABLES:
        if key != family_key(cfg.model):
            data.pop(key)
    return data


GLOBAL_DEFAULTS: dict[str, Any] = {
    "steps": 5000, "latent_dim": 100, "g_width": 64, "d_width": 64, "depth": 3, "mbstd_group": 0, "batch_size": 64,
    "g_lr": 2e-4, "d_lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "n_critic": 1, "gp_weight": 0.0, "r1_gamma": 0.0,
    "reg_every": 1, "ema_decay": 0.999, "lr_decay": 0.0,
}
# Settings that make a loss work as published, applied before the model's own defaults.
LOSS_DEFAULTS: dict[str, dict[str, Any]] = {
    "wgan-gp": {"beta1": 0.0, "beta2": 0.9, "n_critic": 5, "gp_weight": 10.0, "r1_gamma": 0.0},
}


def resolve_defaults(cfg: TrainConfig, data_shape: tuple[int, ...] | None = None,
                     notice: Callable[[str], None] | None = None) -> TrainConfig:
    """Fill unset fields: the image size and channels (the data's own, or those of ``data_shape``, the
    shape of one loaded sample, when it is known: see :mod:`ganstyle.gan.image_shape`, whose one-line
    notice goes to ``notice``), the loss defaults, then the model family's (some chosen by the data),
    then global ones."""
    filled = {}
    if data_shape is not None and len(data_shape) == 3:
        shape = {"channels": data_shape[0], "image_size": data_shape[-1]}
        cfg = dataclasses.replace(cfg, **{k: v for k, v in shape.items() if getattr(cfg, k) is None})
    else:
        cfg = dataclasses.replace(cfg, **resolve_image_shape(cfg, notice))
    if cfg.loss is None:
        cfg = dataclasses.replace(cfg, loss=model_defaults(cfg.model, cfg).get("loss", "ns"))
    if getattr(model_family(cfg.model), "CONDITIONAL", False):
        cfg = dataclasses.replace(cfg, conditional=True)
    layers = [LOSS_DEFAULTS.get(cfg.loss, {}), model_defaults(cfg.model, cfg, data_shape), GLOBAL_DEFAULTS]
    for f in dataclasses.fields(cfg):
        if getattr(cfg, f.name) is None:
            for layer in layers:
                if f.name in layer:
                    filled[f.name] = layer[f.name]
                    break
    cfg = validate(dataclasses.replace(cfg, **filled))  # the declared ranges, for Python callers too
    check_zoo_options(cfg)
    return cfg


def load_run_config(run_dir: str | Path) -> TrainConfig:
    path = Path(run_dir) / "config.toml"
    if not path.is_file():
        raise GanstyleError(f"{run_dir}: not a training run (no config.toml); check the path given to --resume")
    return from_dict(TrainConfig, read_config_file(path), source=str(path))


def _absolute(path: str) -> str:
    # abspath, not resolve(): links stay as the user gave them, and a link loop reaches the data
    # loader, which names it, instead of failing here.
    return os.path.abspath(os.path.expanduser(path))


def with_absolute_paths(cfg: TrainConfig) -> tuple[TrainConfig, dict[str, str]]:
    """``folder:PATH`` data and ``cache_dir`` as absolute paths, so a stored config works from any
    directory (``--resume``, ``eval``); also returns the user's own spelling of each changed value."""
    changed, given = {}, {}
    if cfg.data.lower().startswith("folder:"):
        path = cfg.data.split(":", 1)[1]
        if path:
            absolute = f"folder:{_absolute(path)}"
            if absolute != cfg.data:
                changed["data"], given["data"] = absolute, cfg.data
    if cfg.cache_dir:
        absolute = _absolute(cfg.cache_dir)
        if absolute != cfg.cache_dir:
            changed["cache_dir"], given["cache_dir"] = absolute, cfg.cache_dir
    return dataclasses.replace(cfg, **changed), given
