"""Everything the studio reads or writes stays under its work directory.

:func:`safe_path` turns a client-supplied relative path into a real path under the
workdir or raises :class:`PathRefused` (the server answers 400). Uploads are checked here:
images go through :func:`ganstyle.io.images.open_image` (size in pixels, decompression
bombs, files that only pretend to be images); zip files of training images are extracted
entry by entry, refusing absolute paths, ``..``, links and anything that is not an image.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ganstyle.errors import GanstyleError
from ganstyle.io.images import IMAGE_EXTENSIONS, atomic_write_bytes, open_image

UPLOAD_IMAGES = "uploads/images"
UPLOAD_DATASETS = "uploads/datasets"
# Zip clutter from common archivers, skipped rather than refused.
_ZIP_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db")


class PathRefused(GanstyleError):
    """A client path that would leave the work directory (or is malformed)."""


@dataclass(frozen=True)
class UploadLimits:
    """Per-upload caps: bytes on the wire, pixels per image, and for zips the unpacked size and count."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 25_000_000
    max_zip_files: int = 20_000
    max_unpacked_bytes: int = 512 * 1024 * 1024


def safe_path(workdir: Path, relative: str, *, must_exist: bool = True) -> Path:
    """``workdir / relative`` after resolving links and ``..``; refused if it leaves ``workdir``."""
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise PathRefused(f"{relative!r}: not a path inside the studio workdir")
    if relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative):
        raise PathRefused(f"{relative}: absolute paths are refused; give a path inside the studio workdir")
    root = workdir.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise PathRefused(f"{relative}: path leaves the studio workdir")
    if must_exist and not target.exists():
        raise PathRefused(f"{relative}: no such file in the studio workdir")
    return target


def relative_to(workdir: Path, path: Path) -> str:
    """The client-facing name of a path under the workdir (forward slashes; never read as a flag)."""
    rel = path.resolve().relative_to(workdir.resolve()).as_posix()
    return "./" + rel if rel.startswith("-") else rel


def clean_name(name: str, default: str = "upload") -> str:
    """A file name with only letters, digits, ``.``, ``_`` and ``-`` (no folders, no leading dot or dash)."""
    base = PurePosixPath(str(name).replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._-")
    return base[:100] or default


def unused_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem-2.ext`` etc. when it is taken."""
    candidate = folder / name
    stem, suffix = candidate.stem, candidate.suffix
    i = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{i}{suffix}"
        i += 1
    return candidate


def _check_image(path: Path, shown: str, limits: UploadLimits) -> tuple[int, int]:
    """Decode the image fully; errors name ``shown`` (the uploaded name), not the server path."""
    try:
        img = open_image(path, max_pixels=limits.max_pixels)
    except GanstyleError as exc:
        raise GanstyleError(str(exc).replace(str(path), shown)) from None
    size = img.size
    img.close()
    return size


def save_image_upload(workdir: Path, name: str, data: bytes, limits: UploadLimits) -> Path:
    """Store an uploaded image under ``uploads/images`` after checking it decodes within the limits."""
    shown = clean_name(name)
    if Path(shown).suffix.lower() not in IMAGE_EXTENSIONS:
        raise GanstyleError(f"{shown}: not an image name; upload {', '.join(IMAGE_EXTENSIONS)} files")
    folder = workdir / UPLOAD_IMAGES
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".incoming-{shown}"
    atomic_write_bytes(tmp, data)
    try:
        _check_image(tmp, shown, limits)
        target = unused_path(folder, shown)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _zip_member_name(info: zipfile.ZipInfo, shown: str) -> PurePosixPath | None:
    """The member's safe relative path, None for folders/clutter; refuses escapes and links."""
    name = info.filename.replace("\\", "/")
    if info.is_dir() or any(part in name for part in _ZIP_JUNK):
        return None
    if stat.S_ISLNK(info.external_attr >> 16):
        raise GanstyleError(f"{shown}: {name} is a symbolic link; zip only image files")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        raise GanstyleError(f"{shown}: {name} points outside the upload; zip a folder of images")
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise GanstyleError(f"{shown}: {name} is not an image ({', '.join(IMAGE_EXTENSIONS)} only)")
    return path


def save_zip_upload(workdir: Path, name: str, data: bytes, limits: UploadLimits) -> Path:
    """Unpack a zip of training images into its own folder under ``uploads/datasets``."""
    import io

    shown = clean_name(name)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise GanstyleError(f"{shown}: not a zip file") from None
    with archive:
        members = [(info, _zip_member_name(info, shown)) for info in archive.infolist()]
        members = [(info, path) for info, path in members if path is not None]
        if not members:
            raise GanstyleError(f"{shown}: the zip holds no images")
        if len(members) > limits.max_zip_files:
            raise GanstyleError(f"{shown}: {len(members)} images, more than the {limits.max_zip_files} allowed")
        unpacked = sum(info.file_size for info, _ in members)
        if unpacked > limits.max_unpacked_bytes:
            raise GanstyleError(f"{shown}: unpacks to {unpacked:,} bytes, more than the {limits.max_unpacked_bytes:,} allowed")
        parent = workdir / UPLOAD_DATASETS
        parent.mkdir(parents=True, exist_ok=True)
        target = unused_path(parent, Path(shown).stem or "dataset")
        staging = parent / f".incoming-{target.name}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            for info, path in members:
                dest = staging.joinpath(*path.parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                # Read at most the declared size + 1 so a lying header cannot unpack more.
                with archive.open(info) as src:
                    blob = src.read(info.file_size + 1)
                if len(blob) > info.file_size:
                    raise GanstyleError(f"{shown}: {path} is larger than its zip entry says")
                dest.write_bytes(blob)
                _check_image(dest, f"{shown}: {path}", limits)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
