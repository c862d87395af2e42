"""Write the shipped model's two files from an AdaIN model directory (how the package's model was made)."""

from __future__ import annotations

from pathlib import Path

from ganstyle.errors import GanstyleError
from ganstyle.style.pretrained import ENCODER_LAYER, FORMAT, SHIPPED_STEM


def export_shipped_model(run_dir: str | Path, stem: str | Path = SHIPPED_STEM, *, command: str = "",
                         cpu_seconds: float | None = None, wall_seconds: float | None = None,
                         match_style_colors: bool = True, residual_decoding: bool = True) -> Path:
    """Write ``stem``.safetensors/.json from an AdaIN model directory trained on the random backbone."""
    from ganstyle.config import to_dict
    from ganstyle.io.checkpoints import save_checkpoint
    from ganstyle.style.methods import get_method

    model = get_method("adain").load(run_dir)
    cfg = model.config
    if cfg.backbone != "random":  # training writes the backbone it resolved (auto -> vgg19 or random)
        raise GanstyleError(f"{run_dir}: the shipped model must use the random backbone (trained with "
                            f"--backbone {cfg.backbone}); pretrained VGG weights are not redistributed")
    names = model.encoder.layer_names
    keep = names[: names.index(ENCODER_LAYER) + 1]
    tensors = {f"encoder.{k}": v.float() for k, v in model.encoder.state_dict().items() if k.split(".")[1] in keep}
    tensors.update({f"decoder.{k}": v.half() for k, v in model.net.state_dict().items()})
    state = {
        "format": FORMAT,
        "encoder": {"backbone": "random", "seed": int(cfg.seed), "pooling": cfg.pooling, "width": 1.0,
                    "layer": ENCODER_LAYER},
        "decoder": {"width": int(cfg.width), "dtype": "float16"},
        # Finish with a colour-statistics match of the result to the painting (see stylize_adain).
        "match_style_colors": bool(match_style_colors),
        # Decode photo + decoder(AdaIN target) - decoder(content features) (see stylize_adain).
        "residual_decoding": bool(residual_decoding),
        "training": {"config": to_dict(cfg), "steps": int(model.step), "command": command,
                     "cpu_seconds": cpu_seconds, "wall_seconds": wall_seconds},
    }
    return save_checkpoint(Path(stem), tensors, state)
