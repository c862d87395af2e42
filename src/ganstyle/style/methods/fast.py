"""Fast feed-forward style transfer (Johnson, Alahi & Fei-Fei 2016): one network per style.

The image transformation network follows the paper with the fixes the field settled on:
reflection padding everywhere (no dark borders), instance normalisation (Ulyanov et al.
2016; much better stylisation than batch norm) and nearest-neighbour upsampling followed
by a convolution instead of transposed convolutions, which leave checkerboard artifacts
(Odena et al. 2016). The upsampling goes back to the exact size of the matching
downsampling stage, so any input size works, odd ones included, and the output always has
the input's size. The upsampling convolutions run at the low resolution (``UpsampleConv``),
and the network outputs a logit-space correction of its input, so it starts as the identity
and its output always lies in (0, 1).

Instance norm makes every output pixel depend on statistics of the *whole* image. For
tiled inference those statistics are computed once (on the whole image, or a downscaled
copy when even that does not fit) and frozen, so that all tiles are normalised alike.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganstyle.errors import GanstyleError
from ganstyle.style import color
from ganstyle.style.inputs import ImageLike
from ganstyle.style.methods.base import NetworkConfig, NetworkMethod, Stylized, TrainingObjective

MIN_SIDE = 8  # reflection padding of the 9x9 input conv needs a few pixels per side


class InstanceNorm(nn.Module):
    """Affine instance norm whose statistics can be recorded once and then frozen (for tiling)."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.mode = 0  # 0: per-image statistics, 1: record them, 2: use the recorded ones
        self.register_buffer("frozen_mean", torch.zeros(1, channels, 1, 1), persistent=False)
        self.register_buffer("frozen_var", torch.ones(1, channels, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == 0:
            return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)
        if self.mode == 1:
            var, mean = torch.var_mean(x.float(), dim=(2, 3), keepdim=True, unbiased=False)
            self.frozen_mean = mean.detach()
            self.frozen_var = var.detach()
        scale = self.weight.view(1, -1, 1, 1) * torch.rsqrt(self.frozen_var + self.eps)
        shift = self.bias.view(1, -1, 1, 1) - self.frozen_mean * scale
        return x * scale.to(x.dtype) + shift.to(x.dtype)


class ConvNormAct(nn.Module):
    """Reflection pad -> conv -> instance norm -> ReLU (norm/act optional)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, norm: bool = True, act: bool = True):
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(cin, cout, kernel, stride)
        self.norm = InstanceNorm(cout) if norm else nn.Identity()
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(self.pad(x))))


class UpsampleConv(nn.Module):
    """Nearest 2x upsampling then a reflection-padded 3x3 conv, computed at the low resolution.

    After nearest upsampling each output pixel of the 3x3 conv sees only 2x2 distinct input
    pixels, so the four output phases are 2x2 convolutions of the small image with summed
    taps (Odena et al.'s resize-convolution, done the cheap way): 16 instead of 36
    multiply-adds per output pixel and channel pair, and the 4x larger upsampled tensor is
    never built. The parameters are those of the plain 3x3 conv; on even sizes the result
    is identical to ``conv(reflect_pad(upsample(x)))`` (tests check this). ``size`` crops to
    the exact target, or extends the edge by one pixel where pooling floored an odd size.
    """

    def __init__(self, cin: int, cout: int):
        super().__init__()
        conv = nn.Conv2d(cin, cout, 3)  # for its default initialisation
        self.out_channels = cout
        self.weight = nn.Parameter(conv.weight.detach().clone())
        self.bias = nn.Parameter(conv.bias.detach().clone())

    def phase_kernels(self) -> torch.Tensor:
        w = self.weight
        # Output row parity 0 reads source rows (i-1, i) with taps (w0, w1 + w2);
        # parity 1 reads (i, i+1) with (w0 + w1, w2). The same holds for columns.
        rows = (torch.stack([w[:, :, 0], w[:, :, 1] + w[:, :, 2]], dim=2),
                torch.stack([w[:, :, 0] + w[:, :, 1], w[:, :, 2]], dim=2))
        kernels = []
        for r in rows:
            kernels.append(torch.stack([r[..., 0], r[..., 1] + r[..., 2]], dim=3))
            kernels.append(torch.stack([r[..., 0] + r[..., 1], r[..., 2]], dim=3))
        return torch.cat(kernels, dim=0)  # (4 * cout, cin, 2, 2), phases 00, 01, 10, 11

    def forward(self, x: torch.Tensor, size: list[int]) -> torch.Tensor:
        if 2 * x.shape[-2] < size[0] or 2 * x.shape[-1] < size[1]:
            x = F.pad(x, [0, int(2 * x.shape[-1] < size[1]), 0, int(2 * x.shape[-2] < size[0])], mode="replicate")
        b, _, h, w = x.shape
        c = self.out_channels
        # Reflection padding of the upsampled image is replication of the small one.
        y = F.conv2d(F.pad(x, [1, 1, 1, 1], mode="replicate"), self.phase_kernels(), self.bias.repeat(4))
        phases = torch.stack([y[:, 0:c, 0:h, 0:w], y[:, c:2 * c, 0:h, 1:w + 1],
                              y[:, 2 * c:3 * c, 1:h + 1, 0:w], y[:, 3 * c:, 1:h + 1, 1:w + 1]], dim=2)
        out = phases.view(b, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c, 2 * h, 2 * w)
        return out[:, :, :size[0], :size[1]]


class UpNormAct(nn.Module):
    """Resize-convolution -> instance norm -> ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.up = UpsampleConv(cin, cout)
        self.norm = InstanceNorm(cout)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, size: list[int]) -> torch.Tensor:
        return self.act(self.norm(self.up(x, size)))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.a = ConvNormAct(channels, channels, 3)
        self.b = ConvNormAct(channels, channels, 3, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x))


class TransformNet(nn.Module):
    """Johnson's image transformation network; ``width`` is the first stage's channel count
    (32 in the paper), ``res_blocks`` the number of residual blocks (5)."""

    def __init__(self, width: int = 32, res_blocks: int = 5):
        super().__init__()
        c1, c2, c3 = width, 2 * width, 4 * width
        self.width, self.res_blocks = width, res_blocks
        self.down1 = ConvNormAct(3, c1, 9)
        self.down2 = ConvNormAct(c1, c2, 3, stride=2)
        self.down3 = ConvNormAct(c2, c3, 3, stride=2)
        self.res = nn.Sequential(*[ResidualBlock(c3) for _ in range(res_blocks)])
        self.up2 = UpNormAct(c3, c2)
        self.up1 = UpNormAct(c2, c1)
        self.out = ConvNormAct(c1, 3, 9, norm=False, act=False)
        # The output is a correction to the input in logit space: a new network starts as the
        # identity (content loss 0, only style to learn) and every output lies in (0, 1), so
        # the loss sees exactly what inference shows (raw outputs drift far outside [0, 1]).
        nn.init.zeros_(self.out.conv.weight)
        nn.init.zeros_(self.out.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size1 = [x.shape[-2], x.shape[-1]]
        h = self.down2(self.down1(x))
        size2 = [h.shape[-2], h.shape[-1]]
        h = self.res(self.down3(h))
        h = self.up2(h, size2)
        h = self.up1(h, size1)
        return torch.sigmoid(torch.logit(x.float().clamp(1e-3, 1 - 1e-3)) + self.out(h).float())

    # Total stride: tiles must start on multiples of it to see the whole image's sampling grid.
    stride = 4

    def receptive_radius(self) -> int:
        """Pixels an output value reaches into the input: 9x9 in (4) + two stride-2 convs (1 + 2)
        + 2 convs per residual block at stride 4 (8 each) + upsampling convs (2 + 1) + 9x9 out (4),
        + 3 for the nearest-neighbour upsampling's phase."""
        return 17 + 8 * self.res_blocks

    def bytes_per_pixel(self, bytes_per_value: int = 4) -> float:
        """Peak inference memory per input pixel: a few full-resolution feature maps alive at
        once (input of a conv, its padded copy, its output) plus the quarter-size stages."""
        return bytes_per_value * (4.0 * self.width + 2.0 * 2 * self.width / 4 + 3.0 * 4 * self.width / 16 + 12)


def norm_layers(net: nn.Module) -> list[InstanceNorm]:
    return [m for m in net.modules() if isinstance(m, InstanceNorm)]


@contextlib.contextmanager
def frozen_norm_stats(net: nn.Module, stats_image: torch.Tensor) -> Iterator[None]:
    """Record every instance norm's statistics on ``stats_image`` (1, 3, h, w), then keep them
    fixed inside the block — all tiles of one image are then normalised identically."""
    layers = norm_layers(net)
    try:
        for m in layers:
            m.mode = 1
        with torch.no_grad():
            net(stats_image)
        for m in layers:
            m.mode = 2
        yield
    finally:
        for m in layers:
            m.mode = 0


def check_image(image: torch.Tensor, what: str = "content image") -> torch.Tensor:
    """A (3, H, W) float image in [0, 1] -> (1, 3, H, W); clear errors for anything else."""
    if not isinstance(image, torch.Tensor) or image.dim() != 3 or image.shape[0] != 3:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise GanstyleError(f"{what}: expected a (3, H, W) tensor in [0, 1], got {shape}")
    if min(image.shape[-2:]) < MIN_SIDE:
        raise GanstyleError(f"{what}: {image.shape[2]}x{image.shape[1]} px is too small; "
                            f"both sides must be at least {MIN_SIDE} px")
    return image.float().clamp(0, 1).unsqueeze(0)


def stats_image(x: torch.Tensor, max_pixels: int) -> torch.Tensor:
    """``x`` itself when it has at most ``max_pixels`` pixels, else an antialiased downscale."""
    h, w = x.shape[-2:]
    if h * w <= max_pixels:
        return x
    scale = (max_pixels / (h * w)) ** 0.5
    size = (max(MIN_SIDE, int(h * scale)), max(MIN_SIDE, int(w * scale)))
    return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)


# ---------------------------------------------------------------------------- inference


def stylize_fast(content_img: torch.Tensor, model_dir: str | Path, *, device: str | torch.device = "auto",
                 precision: str = "auto", tile: int | None = None, channels_last: bool | None = None) -> torch.Tensor:
    """Stylise a (3, H, W) image in [0, 1] with a trained fast model; returns (3, H, W) in [0, 1].

    ``tile``: None tiles automatically when the image does not fit in free memory, 0 never
    tiles, N uses N x N tiles. Tiles overlap by twice the network's receptive radius and
    share instance-norm statistics computed on the whole image (downscaled if even that
    does not fit), so a tiled result matches the untiled one.
    """
    from ganstyle.torch_utils import resolve_device, resolve_precision

    dev = resolve_device(str(device)) if not isinstance(device, torch.device) else device
    precision = resolve_precision(precision, dev, warn=None)
    model = FAST.load(model_dir, dev)
    x = check_image(content_img)
    if channels_last is None:
        channels_last = dev.type == "cuda"
    return run_transform_net(model.net, x, dev, precision=precision, tile=tile, channels_last=channels_last)[0]


def run_transform_net(net: TransformNet, x: torch.Tensor, device: torch.device, *, precision: str = "fp32",
                      tile: int | None = None, channels_last: bool = False, budget: int | None = None) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] -> stylised (B, 3, H, W) on the CPU, tiled when needed (see stylize_fast)."""
    from ganstyle.style.tiling import choose_tile, max_tile_pixels, overlap_for, tiled_apply
    from ganstyle.torch_utils import autocast

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    bpp = x.shape[0] * net.bytes_per_pixel(2 if precision != "fp32" else 4)
    margin = net.receptive_radius()
    overlap = overlap_for(margin)
    tile_size = choose_tile(*x.shape[-2:], bpp, device, tile=tile, overlap=overlap, align=net.stride, budget=budget)

    def run(piece: torch.Tensor, _origin=None) -> torch.Tensor:
        piece = piece.to(device).contiguous(memory_format=fmt)
        with torch.no_grad(), autocast(device, precision):
            return net(piece).float().clamp(0, 1)

    if tile_size is None:
        return run(x).cpu()
    stats = stats_image(x, max_tile_pixels(bpp, device, budget=budget)).to(device)
    with frozen_norm_stats(net, stats), autocast(device, precision):
        out = tiled_apply(run, x, tile=tile_size, margin=margin, align=net.stride)
    return out.clamp(0, 1)


# ---------------------------------------------------------------------------- training


def _fit_to(image: torch.Tensor, size: int) -> torch.Tensor:
    """(1, 3, h, w) -> (1, 3, size, size) by resizing the short side and centre-cropping (previews)."""
    h, w = image.shape[-2:]
    scale = size / min(h, w)
    image = F.interpolate(image, size=(max(size, round(h * scale)), max(size, round(w * scale))),
                          mode="bilinear", antialias=True, align_corners=False)
    h, w = image.shape[-2:]
    y, x = (h - size) // 2, (w - size) // 2
    return image[..., y:y + size, x:x + size]


class FastObjective(TrainingObjective):
    """Perceptual losses of Johnson et al.: content (features), style (Gram matrices) and TV."""

    def __init__(self, cfg, backbone, device: torch.device):
        from ganstyle.io.images import load_image
        from ganstyle.style.losses import gram_targets
        from ganstyle.torch_utils import autocast

        self.cfg, self.backbone, self.device = cfg, backbone, device
        self.autocast = lambda: autocast(device, cfg.precision)
        self.net = TransformNet(cfg.width, cfg.res_blocks)
        self.style_image = load_image(Path(cfg.style), long_side=cfg.style_size).unsqueeze(0).to(device)
        with torch.no_grad(), self.autocast():
            self.style_grams = gram_targets(backbone(self.style_image, cfg.style_layers))
        self.layers = list(dict.fromkeys(list(cfg.content_layers) + list(cfg.style_layers)))

    def losses(self, content: torch.Tensor, style: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        from ganstyle.style.losses import content_loss, style_loss, tv_loss

        cfg = self.cfg
        with torch.no_grad(), self.autocast():
            target = self.backbone(content, cfg.content_layers)
        with self.autocast():
            out = self.net(content)
            feats = self.backbone(out, self.layers)
        c = sum(content_loss(feats[n], target[n]) for n in cfg.content_layers) * cfg.content_weight
        s = style_loss(feats, self.style_grams) * cfg.style_weight
        tv = tv_loss(out) * cfg.tv_weight
        return {"total": c + s + tv, "content": c, "style": s, "tv": tv}

    def preview(self, content: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Rows of content | style | result."""
        with self.autocast():
            out = self.net(content).float().clamp(0, 1)
        s = _fit_to(self.style_image, content.shape[-1]).expand_as(content)
        return torch.stack([content, s, out], dim=1).flatten(0, 1).cpu()


# ---------------------------------------------------------------------------- the method

# Johnson et al.: content at relu2_2, style Grams at relu1_2, relu2_2, relu3_3, relu4_3.
CONTENT_LAYERS = ["relu2_2"]
STYLE_LAYERS = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
# The same depths on a backbone that only has each block's first layer (the random one).
CONTENT_LAYERS_FIRST = ["relu2_1"]
STYLE_LAYERS_FIRST = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]


@dataclass
class FastConfig(NetworkConfig):
    """``stylize --method fast``: the network settings only (the style is baked into the model)."""


class FastMethod(NetworkMethod):
    name = "fast"
    summary = "a network trained for one style (milliseconds)"
    config_class = FastConfig
    needs_style = takes_style = False
    train_defaults = {"width": 32, "lr": 1e-3, "style_weight": 1e5, "content_weight": 1.0, "tv_weight": 1.0,
                      "load_size": 0, "batch_size": 4, "steps": 20000, "lr_decay": 0.0}

    def loss_layers(self, cfg, layer_names: set[str]) -> tuple[list[str], list[str]]:
        johnson = not layer_names or set(CONTENT_LAYERS + STYLE_LAYERS) <= layer_names
        return (CONTENT_LAYERS, STYLE_LAYERS) if johnson else (CONTENT_LAYERS_FIRST, STYLE_LAYERS_FIRST)

    def objective(self, cfg, backbone, device: torch.device) -> FastObjective:
        return FastObjective(cfg, backbone, device)

    def build_net(self, cfg, encoder: nn.Module | None) -> TransformNet:
        return TransformNet(cfg.width, cfg.res_blocks)

    def stylize(self, content: ImageLike, styles: Sequence[ImageLike], config: FastConfig, *,
                alpha_mode: str = "white", backbone_net=None, intermediate=None) -> Stylized:
        content_img, content_alpha = self.load_content(content, styles, config, alpha_mode, MIN_SIDE)
        result = stylize_fast(content_img, config.model, device=config.device, precision=config.precision,
                              tile=config.tile)
        if config.preserve_color != "none":
            # The style is baked into the network, so only the luminance-only variant applies.
            result = color.combine_luminance(result, content_img)
        return Stylized(result, content_alpha)


FAST = FastMethod()
