"""What a style method is: the protocol the API, the CLI and the trainer rely on.

A method is one object in :data:`ganstyle.style.methods.METHODS`. It names its typed
config dataclass (``config_class``: the fields become ``stylize`` flags and keyword
arguments) and implements :meth:`StyleMethod.stylize`. A method that trains a network
(:class:`NetworkMethod`) also builds that network, its training objective (the losses and
a preview) and its per-method training defaults; ``train-style`` and model loading use
only these hooks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import torch
from torch import nn

from ganstyle.config import field
from ganstyle.errors import GanstyleError
from ganstyle.style.inputs import load_content, native_hw, output_size
from ganstyle.style.tiling import check_image_memory
from ganstyle.torch_utils import PRECISIONS

if TYPE_CHECKING:
    from ganstyle.style.inputs import ImageLike
    from ganstyle.style.model import StyleModel, StyleTrainConfig

# The largest output long side any method accepts: a 16384 x 16384 RGB result alone is 3 GiB in float32.
MAX_SIZE = 16384
COLOR_MODES = ("none", "luminance", "histogram")


def check_size(size: int | None, min_side: int, flag: str = "--size") -> None:
    """``size`` (a long side in pixels, None = the content's own) within [min_side, MAX_SIZE]."""
    if size is not None and not min_side <= size <= MAX_SIZE:
        raise GanstyleError(f"{flag} {size}: the output's long side must be at least {min_side} and at most "
                            f"{MAX_SIZE} pixels")


@dataclass
class Stylized:
    """A method's result: the image (3, H, W) in [0, 1] on the CPU, and the content's kept alpha (1, h, w)."""

    image: torch.Tensor
    alpha: torch.Tensor | None = None


class StyleMethod:
    """Base of every style method; subclasses set the class attributes and implement ``stylize``."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""  # one line for --help
    config_class: ClassVar[type]
    needs_style: ClassVar[bool] = True  # at least one style image is required
    takes_style: ClassVar[bool] = True  # False: the style is baked into a trained model
    trainable: ClassVar[bool] = False

    def stylize(self, content: ImageLike, styles: Sequence[ImageLike], config: Any, *,
                alpha_mode: str = "white", backbone_net: nn.Module | None = None,
                intermediate: str | None = None) -> Stylized:
        """Stylise ``content``; check sizes and memory before decoding anything at the output size."""
        raise NotImplementedError

    def check_styles(self, n_styles: int) -> None:
        if self.needs_style and n_styles == 0:
            raise GanstyleError(f"--method {self.name} needs at least one style image")
        if not self.takes_style and n_styles:
            raise GanstyleError(f"--method {self.name} uses the style the model was trained on; give no style image")


@dataclass
class NetworkConfig:
    """Settings shared by the methods that run a trained network."""

    model: str = field("", help="folder written by 'ganstyle train-style'")
    size: int | None = field(None, help="long side of the output in pixels (default: the content's own size)")
    preserve_color: str = field("none", help="keep the content's colours: luminance-only transfer, or match the "
                                "style's colour histogram to the content", choices=COLOR_MODES)
    device: str = field("auto", help="auto, cpu, cuda or cuda:N")
    precision: str = field("auto", help="auto = bf16 where the hardware runs it natively, else fp32",
                           choices=PRECISIONS)
    tile: int | None = field(None, help="tile size in pixels (default: automatic from free memory; "
                             "0 = never)")


class TrainingObjective:
    """One training step's losses and the preview rows of a trainable method."""

    net: nn.Module

    def losses(self, content: torch.Tensor, style: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Loss terms of a batch; ``total`` is the one minimised."""
        raise NotImplementedError

    def preview(self, content: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        """Images for the sample grid, rows of ``len(content)`` columns: content | style | result."""
        raise NotImplementedError


class NetworkMethod(StyleMethod):
    """A method that trains a network with ``train-style`` and runs it at ``stylize`` time."""

    trainable: ClassVar[bool] = True
    train_defaults: ClassVar[dict[str, Any]] = {}  # values for the StyleTrainConfig fields left at None
    style_folder: ClassVar[bool] = False  # trains on --style-dir (a folder) rather than one --style image
    load_scale: ClassVar[int] = 1  # --load-size 0 means load_scale x --image-size
    requires_model: ClassVar[bool] = True  # False: stylize has a model of its own when --model is not given

    def resolve_training(self, cfg: StyleTrainConfig) -> StyleTrainConfig:
        """Fill the fields left at None with this method's defaults."""
        values = {k: (v if getattr(cfg, k) is None else getattr(cfg, k)) for k, v in self.train_defaults.items()}
        cfg = dataclasses.replace(cfg, **values)
        if cfg.load_size == 0:
            cfg.load_size = self.load_scale * cfg.image_size
        return cfg

    def check_training(self, cfg: StyleTrainConfig) -> None:
        """Method-specific user errors before training starts."""
        if self.style_folder and not cfg.style_dir:
            raise GanstyleError(f"--style-dir: required for --method {self.name} (a folder of style images)")
        if not self.style_folder and not cfg.style:
            raise GanstyleError(f"--style: required for --method {self.name} (the style image the network learns)")

    def loss_layers(self, cfg: StyleTrainConfig, layer_names: set[str]) -> tuple[list[str], list[str]]:
        """(content layers, style layers) to use when the config leaves them unset."""
        raise NotImplementedError

    def objective(self, cfg: StyleTrainConfig, backbone, device: torch.device) -> TrainingObjective:
        raise NotImplementedError

    def load_encoder(self, cfg: StyleTrainConfig, device: torch.device) -> nn.Module | None:
        """The frozen network a trained model runs in front of its own (None: there is none)."""
        return None

    def build_net(self, cfg: StyleTrainConfig, encoder: nn.Module | None) -> nn.Module:
        """The trained network, untrained, with the shapes ``cfg`` describes (weights are loaded after)."""
        raise NotImplementedError

    def load_content(self, content: ImageLike, styles: Sequence[ImageLike], cfg: NetworkConfig, alpha_mode: str,
                     min_side: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The checks every network method makes before decoding the content at the output size
        (styles, --model, --size range, memory for the whole-image buffers), then the content."""
        self.check_styles(len(styles))
        if self.requires_model and not cfg.model:
            raise GanstyleError(f"--method {self.name} needs --model MODEL_DIR (a model trained with "
                                "'ganstyle train-style')")
        check_size(cfg.size, min_side)
        hw = native_hw(content)
        check_image_memory(*(output_size(hw, cfg.size) if cfg.size else hw))
        return load_content(content, alpha_mode, cfg.size)

    def load(self, model_dir: str | Path, device: torch.device | str = "cpu") -> StyleModel:
        """A model directory this method trained, loaded (and cached) on ``device``."""
        from ganstyle.style.model import load_style_model

        return load_style_model(model_dir, self, device=device)
