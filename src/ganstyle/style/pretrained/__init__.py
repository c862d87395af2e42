"""The arbitrary-style (AdaIN) model that ships inside the package: instant style, no download.

``adain.safetensors`` + ``adain.json`` next to this file hold

* the encoder: the ``random`` backbone (seed 0, max pooling) up to relu4_1, stored in fp32
  exactly as it was calibrated when the decoder was trained (seeded random filters — not
  a copy of any pretrained network), so loading skips the calibration and cannot drift;
* the decoder: trained with ``ganstyle train-style --method adain`` on offline photos and
  paintings, stored in fp16 (loaded as fp32);
* in the JSON: the training configuration, the exact command, the steps and the time it took,
  ``residual_decoding``: the result is the photo plus ``decoder(AdaIN target) - decoder(content
  features)``, so errors the briefly trained decoder makes in both terms cancel and the layout
  stays the photo's; and ``match_style_colors``: the result's RGB mean and covariance are then
  moved onto the painting's (the decoder alone under-reproduces colours).

``load_shipped_model()`` loads them once per process and device; ``stylize(..., method="adain")``
uses it when no ``model`` is given. ``ganstyle.style.pretrained.export.export_shipped_model(run_dir)`` writes the two files from a
trained model directory (how the shipped files were made).
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
from pathlib import Path
from typing import Any

import torch

from ganstyle.errors import GanstyleError

SHIPPED_DIR = Path(__file__).resolve().parent
SHIPPED_STEM = SHIPPED_DIR / "adain"
FORMAT = "ganstyle-shipped-adain/1"
ENCODER_LAYER = "relu4_1"


def shipped_model_stem() -> Path:
    """``.../ganstyle/style/pretrained/adain`` (add ``.safetensors`` / ``.json``)."""
    return SHIPPED_STEM


# stylize says in one line that it uses the shipped model; a caller that stylises many photos in
# one go (stylize_folder) says it once and turns the per-image line off through this.
ANNOUNCE_SHIPPED = contextvars.ContextVar("announce_shipped_model", default=True)


def describe_shipped_model() -> str:
    """One line for the user: what runs when no --model is given."""
    info = shipped_model_info()
    t = info.get("training", {})
    return (f"adain: using the model shipped with ganstyle (random-filter encoder seed {info['encoder']['seed']}, "
            f"decoder trained {t.get('steps', '?')} steps on offline photos and paintings; pass --model DIR for your own)")


@functools.lru_cache(maxsize=1)
def shipped_model_info() -> dict[str, Any]:
    """The JSON state of the shipped model (training config, command, steps, time)."""

    _, state = _read(verify=False)
    if state.get("format") != FORMAT:
        raise GanstyleError(f"{SHIPPED_STEM}.json: not a shipped ganstyle model ({state.get('format')!r}); "
                            "reinstall ganstyle")
    return state


def _read(verify: bool = True):
    from ganstyle.io.checkpoints import load_checkpoint

    if not SHIPPED_STEM.with_suffix(".json").is_file():
        raise GanstyleError(f"{SHIPPED_STEM}.json: the shipped AdaIN model is missing from this installation; "
                            "reinstall ganstyle or pass --model DIR")
    return load_checkpoint(SHIPPED_STEM, verify=verify)


def _training_config(saved: dict[str, Any]):
    """The StyleTrainConfig of the run, keeping only fields this version knows."""
    from ganstyle.config import from_dict
    from ganstyle.style.model import StyleTrainConfig

    names = {f.name for f in dataclasses.fields(StyleTrainConfig)}
    return from_dict(StyleTrainConfig, {k: v for k, v in saved.items() if k in names}, source=f"{SHIPPED_STEM}.json")


@functools.lru_cache(maxsize=4)
def load_shipped_model(device: str = "cpu"):
    """The shipped model as a :class:`ganstyle.style.model.StyleModel` (loaded once per process and device)."""
    from ganstyle.io.checkpoints import sub_state_dict
    from ganstyle.style.methods.adain_decoder import Decoder
    from ganstyle.style.backbones import random_architecture
    from ganstyle.style.model import StyleModel

    tensors, state = _read()
    if state.get("format") != FORMAT:
        raise GanstyleError(f"{SHIPPED_STEM}.json: not a shipped ganstyle model; reinstall ganstyle")
    enc = state["encoder"]
    encoder = random_architecture(enc["seed"], pooling=enc["pooling"], width=enc["width"], last=enc["layer"])
    encoder.load_state_dict({k: v.float() for k, v in sub_state_dict(tensors, "encoder").items()})
    encoder.source = f"shipped random filters, seed {enc['seed']}"
    decoder = Decoder(encoder.channels[enc["layer"]], int(state["decoder"]["width"]))
    decoder.load_state_dict({k: v.float() for k, v in sub_state_dict(tensors, "decoder").items()})
    dev = torch.device(device)
    encoder.to(dev)
    decoder.to(dev).eval().requires_grad_(False)
    cfg = _training_config(state["training"]["config"])
    model = StyleModel(cfg, decoder, encoder, int(state["training"]["steps"]), SHIPPED_STEM)
    model.match_style_colors = bool(state.get("match_style_colors", False))
    model.residual_decoding = bool(state.get("residual_decoding", False))
    return model
