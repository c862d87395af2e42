"""Open any image safely, save images atomically, build sample grids.

Everything that reads a user's image goes through :func:`open_image`, so every mode
(1, L, LA, P, PA, RGB, RGBA, CMYK, YCbCr, I;16, I, F), EXIF orientation and every way
a file can be broken is handled once. Tensors here are float32 in [0, 1], shape (C, H, W)
unless a function says otherwise.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Literal

import numpy as np
import torch
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ganstyle.errors import GanstyleError

# A truncated file must be an error, never silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
# Far beyond any sensible training/style image, well below what exhausts 24 GiB of RAM.
MAX_PIXELS = 20_000 * 20_000

AlphaMode = Literal["drop", "white", "black", "keep"]


def _to_float_array(img: Image.Image, path: Path) -> np.ndarray:
    """Pixels as float32 HxWxC in [0, 1], whatever the mode and bit depth."""
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return (np.asarray(img, dtype=np.float32) / 65535.0)[..., None]
    if mode == "I":
        arr = np.asarray(img, dtype=np.float64)
        # 16-bit PNGs open as mode "I" with values 0..65535; true 32-bit data is rescaled.
        top = 65535.0 if arr.max(initial=0) <= 65535 and arr.min(initial=0) >= 0 else None
        if top is None:
            lo, hi = arr.min(), arr.max()
            arr = (arr - lo) / (hi - lo if hi > lo else 1.0)
        else:
            arr = arr / top
        return arr.astype(np.float32)[..., None]
    if mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        if not np.isfinite(arr).all():
            raise GanstyleError(f"{path}: image contains NaN or infinite pixel values")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            arr = (arr - lo) / (hi - lo if hi > lo else 1.0)
        return arr[..., None]
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[..., None]
    return arr.astype(np.float32) / 255.0


def _os_error_reason(exc: OSError) -> str:
    """What went wrong with a path, in the user's words."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (the link points back to itself)"
    return exc.strerror or str(exc)


def check_input_file(path: str | os.PathLike, *, what: str = "a file") -> None:
    """Raise a one-line :class:`GanstyleError` unless ``path`` is a non-empty file we can stat.

    Tells apart a missing file, a dangling link, a link loop, a folder, an empty file and a
    permission error, instead of reporting them all as "no such file" or "corrupt".
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise GanstyleError(f"{path}: broken symbolic link (to {os.readlink(path)})") from None
        raise GanstyleError(f"{path}: no such file") from None
    except OSError as exc:
        raise GanstyleError(f"{path}: {_os_error_reason(exc)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise GanstyleError(f"{path}: is a folder, expected {what}")
    if info.st_size == 0:
        raise GanstyleError(f"{path}: file is empty")


def open_image(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open, fully decode and orient an image; any failure names the file.

    The returned image is upright (EXIF orientation applied) and in one of the modes
    L, LA, RGB, RGBA, I;16, I or F, so callers never see palette or CMYK data.
    """
    path = Path(path)
    check_input_file(path, what="an image file")
    try:
        with warnings.catch_warnings():
            # max_pixels is the policy; Pillow's own warning fires at 89 MP, below it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = opened = Image.open(path)
            try:
                if img.width * img.height > max_pixels:
                    raise GanstyleError(
                        f"{path}: image is {img.width}x{img.height} pixels, more than the "
                        f"{max_pixels:,} allowed; downscale it first"
                    )
                img.load()
                img = ImageOps.exif_transpose(img)
            except BaseException:
                # A failed decode keeps its file handle open until closed.
                opened.close()
                raise
            if img is not opened:
                opened.close()
    except GanstyleError:
        raise
    except PermissionError:
        raise GanstyleError(f"{path}: permission denied") from None
    except UnidentifiedImageError:
        raise GanstyleError(f"{path}: not an image file Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise GanstyleError(f"{path}: image too large ({exc}); downscale it first") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise GanstyleError(f"{path}: corrupt or truncated image ({exc})") from None

    if img.mode in ("P", "PA"):
        img = img.convert("RGBA" if "transparency" in img.info or img.mode == "PA" else "RGB")
    elif img.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif img.mode == "1":
        img = img.convert("L")
    elif img.mode == "La":
        img = img.convert("LA")
    elif img.mode == "RGBa":
        img = img.convert("RGBA")
    elif img.mode not in ("L", "LA", "RGB", "RGBA", "I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        try:
            img = img.convert("RGB")
        except (OSError, ValueError) as exc:
            raise GanstyleError(f"{path}: unsupported image mode {img.mode!r} ({exc})") from None
    return img


def image_to_array(
    img: Image.Image, *, channels: int = 3, alpha: AlphaMode = "white", path: Path | str = "<image>"
) -> np.ndarray:
    """Convert an opened image to float32 HxWxC in [0, 1].

    ``channels`` is 1 (luminance, ITU-R 601), 3 (RGB) or 4 (RGBA). ``alpha`` says what
    happens to transparency when the output has no alpha channel: composite on
    ``white`` or ``black``, or ``drop`` it (keep the colour under it). ``keep`` is only
    valid with ``channels=4``.
    """
    if channels not in (1, 3, 4):
        raise GanstyleError(f"channels must be 1, 3 or 4, got {channels}")
    if alpha == "keep" and channels != 4:
        raise GanstyleError("alpha='keep' needs channels=4")
    has_alpha = img.mode in ("LA", "RGBA")
    arr = _to_float_array(img, Path(path))
    if has_alpha:
        colour, a = arr[..., :-1], arr[..., -1:]
    else:
        colour, a = arr, np.ones(arr.shape[:2] + (1,), np.float32)
    grey = colour.shape[-1] == 1
    if grey and channels != 1:
        colour = np.repeat(colour, 3, axis=-1)
    if channels != 4 and has_alpha and alpha in ("white", "black"):
        background = 1.0 if alpha == "white" else 0.0
        colour = colour * a + background * (1.0 - a)
    if channels == 4:
        out = np.concatenate([colour, a], axis=-1)
    elif channels == 3 or grey:
        # A grey source stays exact: the luma weights sum to 1 only up to float rounding.
        out = colour
    else:
        out = (colour @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    return np.ascontiguousarray(out, dtype=np.float32)


def resize_center_crop(img: Image.Image, size: int | tuple[int, int]) -> Image.Image:
    """Resize the short side to fit, then centre-crop to ``size`` (an int means square).

    Bit depth is preserved: 16-bit and float images are resized in their own mode.
    """
    tw, th = (size, size) if isinstance(size, int) else (size[1], size[0])
    w, h = img.size
    scale = max(tw / w, th / h)
    nw, nh = max(tw, round(w * scale)), max(th, round(h * scale))
    if (nw, nh) != (w, h):
        resample = Image.Resampling.BICUBIC if img.mode in ("L", "LA", "RGB", "RGBA") else Image.Resampling.BILINEAR
        if img.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
            img = img.convert("I")
        img = img.resize((nw, nh), resample=resample, reducing_gap=3.0 if scale < 0.5 else None)
    left, top = (nw - tw) // 2, (nh - th) // 2
    return img.crop((left, top, left + tw, top + th))


def resize_long_side(img: Image.Image, long_side: int) -> Image.Image:
    """Resize so the longer side is ``long_side`` pixels, keeping the aspect ratio."""
    w, h = img.size
    scale = long_side / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if (nw, nh) == (w, h):
        return img
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        img = img.convert("I")
    resample = Image.Resampling.LANCZOS if img.mode in ("L", "LA", "RGB", "RGBA") else Image.Resampling.BILINEAR
    return img.resize((nw, nh), resample=resample)


def load_image(
    path: str | os.PathLike,
    size: int | tuple[int, int] | None = None,
    *,
    long_side: int | None = None,
    channels: int = 3,
    alpha: AlphaMode = "white",
) -> torch.Tensor:
    """Read an image file as a float32 tensor (C, H, W) in [0, 1].

    ``size`` resizes and centre-crops to a square (int) or (H, W); ``long_side`` instead
    keeps the aspect ratio. Errors name the file.
    """
    img = open_image(path)
    if size is not None and long_side is not None:
        raise GanstyleError("give either size or long_side, not both")
    if size is not None:
        img = resize_center_crop(img, size)
    elif long_side is not None:
        img = resize_long_side(img, long_side)
    arr = image_to_array(img, channels=channels, alpha=alpha, path=path)
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def list_images(folder: str | os.PathLike, *, recursive: bool = True) -> list[Path]:
    """Image files under ``folder`` (sorted; hidden files and folders skipped); error if none."""
    folder = Path(folder)
    try:
        with os.scandir(folder) as entries:  # a folder we may not list would look empty to glob
            next(entries, None)
    except FileNotFoundError:
        raise GanstyleError(f"{folder}: no such folder") from None
    except NotADirectoryError:
        raise GanstyleError(f"{folder}: not a folder") from None
    except OSError as exc:
        raise GanstyleError(f"{folder}: {_os_error_reason(exc)}") from None
    pattern = "**/*" if recursive else "*"
    # Hidden folders (.thumbnails, .git, ...) hold copies or tool data, never training images.
    files = sorted(
        p
        for p in folder.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise GanstyleError(
            f"{folder}: no images found (looked {'recursively ' if recursive else ''}for "
            f"{', '.join(IMAGE_EXTENSIONS)})"
        )
    return files


# ----------------------------------------------------------------------------- writing

_UMASK = os.umask(0)  # read once, at import: the umask can only be read by setting it
os.umask(_UMASK)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    A crash or exception leaves any previous file at ``path`` untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    except OSError as exc:
        raise GanstyleError(f"{path}: cannot write here ({_os_error_reason(exc)})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates the file private (0600); a saved image or log gets the mode any new file
    # would get (0666 less the umask), so other users and tools can read it as before.
    os.chmod(tmp_path, 0o666 & ~_UMASK)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_uint8(image: torch.Tensor | np.ndarray, value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """A (C, H, W) tensor or an HxWxC / HxW array in ``value_range`` -> HxWxC uint8."""
    if isinstance(image, torch.Tensor):
        arr = image.detach().float().cpu().numpy()
        if arr.ndim == 3:
            arr = arr.transpose(1, 2, 0)
    else:
        arr = np.asarray(image, np.float32)
    lo, hi = value_range
    arr = np.nan_to_num((arr - lo) / (hi - lo), nan=0.0)
    arr = np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = arr[..., None]
    return arr


def save_image(
    image: torch.Tensor | np.ndarray,
    path: str | os.PathLike,
    *,
    value_range: tuple[float, float] = (0.0, 1.0),
    quality: int = 95,
) -> Path:
    """Write a (C, H, W) tensor (or HxWxC array) atomically; format from the suffix."""
    path = Path(path)
    arr = to_uint8(image, value_range)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[arr.shape[-1]]
    img = Image.fromarray(arr[..., 0] if mode == "L" else arr, mode=mode)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise GanstyleError(f"{path}: unknown image format {path.suffix!r}; use .png or .jpg")
    if fmt == "JPEG" and mode == "RGBA":
        img = img.convert("RGB")
    with atomic_path(path) as tmp:
        img.save(tmp, format=fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    return path


def make_grid(
    images: torch.Tensor, nrow: int | None = None, padding: int = 2, pad_value: float = 1.0
) -> torch.Tensor:
    """Tile (N, C, H, W) images into one (C, H', W') image, ``nrow`` images per row."""
    if images.dim() != 4:
        raise ValueError(f"make_grid expects (N, C, H, W), got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    nrow = nrow or max(1, int(np.ceil(np.sqrt(n))))
    ncol = int(np.ceil(n / nrow))
    grid = images.new_full((c, ncol * (h + padding) + padding, nrow * (w + padding) + padding), pad_value)
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, y : y + h, x : x + w] = images[i]
    return grid


def save_grid(
    images: torch.Tensor,
    path: str | os.PathLike,
    *,
    nrow: int | None = None,
    value_range: tuple[float, float] = (-1.0, 1.0),
    padding: int = 2,
    upscale: int = 1,
) -> Path:
    """Save a grid of (N, C, H, W) images in ``value_range``; ``upscale`` enlarges small images."""
    lo, hi = value_range
    imgs = ((images.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1)
    if upscale > 1:
        imgs = torch.nn.functional.interpolate(imgs, scale_factor=upscale, mode="nearest")
    return save_image(make_grid(imgs, nrow=nrow, padding=padding), path)
