"""The image size and channels a run trains at when ``--image-size``/``--channels`` are not given:
one rule for every model family.

The data's own images decide. Named datasets have a known shape (:data:`NATIVE_IMAGES`); a
folder is probed (:func:`ganstyle.data.folder.probe_folder`: 1 channel when every probed image
is grey, the smallest short side). The run takes the data's channels and its size, except that
folders of images larger than :data:`FOLDER_MAX_SIZE` are resized to it (photos would otherwise
train at full resolution). When the family cannot build that size (its ``check`` says so; e.g.
the convolutional families need a side that halves down to 7 or less), the nearest size it can
build is used instead, the larger one on a tie. A one-line notice says what a folder trains at,
or why a dataset's own size was changed, before any data is loaded.

An ``--image-size`` the user gives is checked against the family here too, so a size the family
cannot use is reported before the data is loaded, not after.
"""

from __future__ import annotations

from typing import Callable

from ganstyle.errors import GanstyleError

# Native (channels, side) of the named datasets; folders are probed.
NATIVE_IMAGES = {"digits": (1, 8), "mnist": (1, 28), "fashion-mnist": (1, 28), "cifar10": (3, 32)}
# Folders of larger images train at this size unless --image-size is given (the folder loader's default).
FOLDER_MAX_SIZE = 64


def _is_folder(data: str) -> bool:
    return data.split(":", 1)[0].lower() == "folder" and ":" in data


def native_image(data: str) -> tuple[int, int] | None:
    """(channels, side) of the data's own images, or None when unknown (points, unreadable folder)."""
    if _is_folder(data):
        from ganstyle.data.folder import probe_folder

        return probe_folder(data.split(":", 1)[1])
    return NATIVE_IMAGES.get(data.split(":", 1)[0].lower())


def family_can_use(cfg, channels: int, size: int) -> bool:
    """Whether ``cfg.model`` can build ``channels`` x ``size`` x ``size`` images (its ``check``)."""
    from ganstyle.gan.models import model_family

    check = getattr(model_family(cfg.model), "check", None)
    if check is None:
        return True
    try:
        check(cfg, (channels, size, size))
    except GanstyleError:
        return False
    return True


def nearest_usable_size(cfg, channels: int, size: int) -> int | None:
    """The size closest to ``size`` that the family can build (the larger on a tie), or None."""
    for step in range(0, 2 * size + 1):
        for candidate in (size + step, size - step):
            if candidate >= 1 and family_can_use(cfg, channels, candidate):
                return candidate
    return None


def _channels_text(channels: int) -> str:
    return f"{channels} channel{'s' if channels != 1 else ''}"


def resolve_image_shape(cfg, notice: Callable[[str], None] | None = None) -> dict:
    """``{"channels": ..., "image_size": ...}`` for the ones ``cfg`` leaves unset (empty for points or
    unreadable folders, where the loader decides and reports); ``notice`` gets the one-line notice."""
    if cfg.image_size is not None and (_is_folder(cfg.data) or cfg.data.split(":", 1)[0].lower() in NATIVE_IMAGES):
        from ganstyle.gan.models import model_family

        check = getattr(model_family(cfg.model), "check", None)
        if check is not None:  # a size the family cannot use is named before any data is loaded
            check(cfg, (cfg.channels or 3, cfg.image_size, cfg.image_size))
    if cfg.image_size is not None and cfg.channels is not None:
        return {}
    native = native_image(cfg.data)
    if native is None:
        return {}
    channels = cfg.channels or native[0]
    size, why = cfg.image_size, ""
    if size is None:
        size = min(native[1], FOLDER_MAX_SIZE) if _is_folder(cfg.data) else native[1]
        if size != native[1]:
            why = f", larger images are resized to {size} px"
        usable = nearest_usable_size(cfg, channels, size)
        if usable is not None and usable != size:
            why = f", the nearest size {cfg.model} can build ({size} px it cannot)"
            size = usable
    fills = {name: value for name, value in (("channels", channels), ("image_size", size))
             if getattr(cfg, name) is None}
    if notice and (_is_folder(cfg.data) or why):
        notice(f"notice: {cfg.data} holds {native[1]} px images with {_channels_text(native[0])}; training at "
               f"{size} px with {_channels_text(channels)}{why} (--image-size/--channels change this)")
    return fills
