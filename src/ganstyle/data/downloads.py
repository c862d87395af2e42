"""MNIST, Fashion-MNIST and CIFAR-10 from their official locations, verified and cached.

Files live in ``CACHE/<dataset>/<official file name>``, where CACHE is the first of:
``--cache-dir`` (the ``cache_dir`` argument), ``$GANSTYLE_DATA``, ``$XDG_CACHE_HOME/ganstyle/data``
(``~/.cache/ganstyle/data``). Every file is checked against the MD5 published with the
dataset (and used by torchvision / tensorflow-datasets) before it is read, so a half
finished or tampered download is an error naming the file, never silently wrong data.

Offline use: put the official files at the paths the error message names (or point
``--cache-dir`` at a folder that has them). For the MNIST family the ``.gz`` archives and
their unpacked ``*-ubyte`` files are both accepted, each with its own checksum; a ``.gz``
that was re-compressed by a mirror is accepted when its unpacked content matches. For
CIFAR-10 either ``cifar-10-python.tar.gz`` or its unpacked ``cifar-10-batches-py/`` folder
works.

CIFAR-10 ships as Python pickles. They are read with a restricted unpickler that can
build nothing but plain data (dict, list, str, bytes, int) and uint8 numpy arrays: the
only importable names are ``numpy.core.multiarray._reconstruct`` (for ``numpy.ndarray``
only), ``numpy.ndarray`` and ``numpy.dtype`` (non-object dtypes). Any other global in a
batch file, e.g. ``os.system`` in a malicious pickle, is refused before it can run.
The tarball is read member by member in memory, never extracted to disk.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch

from ganstyle.data import Dataset
from ganstyle.data.transforms import uint8_to_model
from ganstyle.errors import GanstyleError
from ganstyle.io.images import atomic_path

ENV_VAR = "GANSTYLE_DATA"
DOWNLOAD_TIMEOUT_S = 30


@dataclass(frozen=True)
class RemoteFile:
    """One published file: where to get it and what its bytes must hash to."""

    name: str
    md5: str
    urls: tuple[str, ...]
    # MD5 of the gunzipped payload, for unpacked copies and mirrors that re-compress.
    raw_md5: str | None = None


# yann.lecun.com often refuses downloads; the PyTorch S3 mirror serves byte-identical files.
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"

IDX_SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _idx_table(mirrors: tuple[str, ...], md5s: dict[str, tuple[str, str]]) -> dict[str, RemoteFile]:
    return {name: RemoteFile(name, md5, tuple(m + name for m in mirrors), raw_md5)
            for name, (md5, raw_md5) in md5s.items()}


# (MD5 of the .gz as published, MD5 of its unpacked content)
FILES: dict[str, dict[str, RemoteFile]] = {
    "mnist": _idx_table(MNIST_MIRRORS, {
        "train-images-idx3-ubyte.gz": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb"),
        "train-labels-idx1-ubyte.gz": ("d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624"),
        "t10k-images-idx3-ubyte.gz": ("9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"),
        "t10k-labels-idx1-ubyte.gz": ("ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637"),
    }),
    "fashion-mnist": _idx_table(FASHION_MNIST_MIRRORS, {
        "train-images-idx3-ubyte.gz": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        "train-labels-idx1-ubyte.gz": ("25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9"),
        "t10k-images-idx3-ubyte.gz": ("bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a"),
        "t10k-labels-idx1-ubyte.gz": ("bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965"),
    }),
    "cifar10": {
        "cifar-10-python.tar.gz": RemoteFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", (CIFAR10_URL,)),
    },
}

CIFAR10_FOLDER = "cifar-10-batches-py"
# MD5 of each file inside the tarball, for users who unpacked it themselves.
CIFAR10_MEMBERS = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
CIFAR10_SPLITS = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}

CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}


# ----------------------------------------------------------------------------- cache + checksums


def data_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``cache_dir`` > ``$GANSTYLE_DATA`` > ``~/.cache/ganstyle/data``."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "ganstyle" / "data"


def md5_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _gunzip_md5(path: Path) -> str | None:
    """MD5 of a gzip file's content, or None when it does not decompress."""
    h = hashlib.md5(usedforsecurity=False)
    try:
        with gzip.open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    except (OSError, EOFError, zlib.error):
        return None
    return h.hexdigest()


def _mismatch(path: Path, got: str, expected: str, remote: RemoteFile) -> GanstyleError:
    return GanstyleError(
        f"{path}: MD5 {got} does not match the official {expected}; the file is incomplete or not the "
        f"right one. Delete it and run again to re-download, or fetch it from {remote.urls[0]}"
    )


def _verified_local(folder: Path, remote: RemoteFile) -> Path | None:
    """The verified local copy of ``remote`` (the published file or its unpacked form), else None."""
    path = folder / remote.name
    if path.is_file():
        got = md5_file(path)
        if got == remote.md5:
            return path
        if remote.raw_md5 and _gunzip_md5(path) == remote.raw_md5:
            return path
        raise _mismatch(path, got, remote.md5, remote)
    if remote.raw_md5 and remote.name.endswith(".gz"):
        unpacked = folder / remote.name[: -len(".gz")]
        if unpacked.is_file():
            got = md5_file(unpacked)
            if got != remote.raw_md5:
                raise _mismatch(unpacked, got, remote.raw_md5, remote)
            return unpacked
    return None


# ----------------------------------------------------------------------------- downloading


def _open_url(url: str, timeout: float):
    """The one place that touches the network (tests replace it)."""
    from ganstyle import __version__

    request = urllib.request.Request(url, headers={"User-Agent": f"ganstyle/{__version__}"})
    return urllib.request.urlopen(request, timeout=timeout)


class _ChecksumError(Exception):
    pass


def _download_one(url: str, remote: RemoteFile, target: Path) -> None:
    """Stream ``url`` into a temporary file beside ``target``, check its MD5, then rename."""
    from tqdm import tqdm

    with _open_url(url, DOWNLOAD_TIMEOUT_S) as response:
        length = getattr(response, "headers", {}).get("Content-Length")
        total = int(length) if length and str(length).isdigit() else None
        h = hashlib.md5(usedforsecurity=False)
        with atomic_path(target) as tmp, open(tmp, "wb") as out, tqdm(
            total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=remote.name, leave=False, disable=None
        ) as bar:
            while block := response.read(1 << 20):
                out.write(block)
                h.update(block)
                bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
            if h.hexdigest() != remote.md5:
                raise _ChecksumError(f"{url}: downloaded file has MD5 {h.hexdigest()}, expected {remote.md5}")


def _download(remote: RemoteFile, target: Path) -> tuple[bool, list[str]]:
    """Try each mirror; returns (success, reasons) — reasons explain every failed mirror."""
    reasons = []
    for url in remote.urls:
        try:
            _download_one(url, remote, target)
            return True, reasons
        except _ChecksumError as exc:
            reasons.append(str(exc))
        except urllib.error.HTTPError as exc:
            reasons.append(f"{url}: HTTP {exc.code}")
        except urllib.error.URLError as exc:
            reasons.append(f"{url}: {exc.reason}")
        except (OSError, ValueError) as exc:  # timeouts, resets, malformed responses
            reasons.append(f"{url}: {exc}")
    return False, reasons


def fetch(dataset: str, names: list[str] | tuple[str, ...], cache_dir: str | os.PathLike | None = None,
          download: bool = True) -> dict[str, Path]:
    """Verified local paths of the named files of ``dataset``, downloading what is missing.

    When a file cannot be had, raises one :class:`GanstyleError` line naming, for every
    missing file, the URL to fetch and the exact path to put it at.
    """
    folder = data_root(cache_dir) / dataset
    table = FILES[dataset]
    found: dict[str, Path] = {}
    missing: list[RemoteFile] = []
    for name in names:
        local = _verified_local(folder, table[name])
        if local is None:
            missing.append(table[name])
        else:
            found[name] = local
    if not missing:
        return found
    reason = "downloads are disabled"
    if download:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GanstyleError(f"{folder}: cannot create the data cache folder ({exc.strerror or exc}); "
                                f"set --cache-dir or ${ENV_VAR} to a writable folder") from None
        still_missing = []
        for remote in missing:
            if still_missing:  # one file already failed: report them all now, not after more timeouts
                still_missing.append(remote)
                continue
            ok, reasons = _download(remote, folder / remote.name)
            if ok:
                found[remote.name] = folder / remote.name
            else:
                still_missing.append(remote)
                reason = "download failed: " + "; ".join(reasons)
        missing = still_missing
    if missing:
        todo = "; ".join(f"{r.urls[0]} -> {folder / r.name}" for r in missing)
        raise GanstyleError(
            f"{dataset}: {reason}. Download {todo} (or set --cache-dir / ${ENV_VAR} to a folder that has "
            f"{dataset}/{missing[0].name})"
        )
    return found


# ----------------------------------------------------------------------------- IDX (MNIST family)

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(raw: bytes, source: str | os.PathLike = "<idx>") -> np.ndarray:
    """Decode IDX bytes: 0, 0, dtype code, ndim, then ndim big-endian uint32 sizes, then data."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        raise GanstyleError(f"{source}: not an IDX file (magic number {raw[:4].hex() or 'missing'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise GanstyleError(f"{source}: truncated IDX file (header of {ndim} dimensions is cut off)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    count = int(np.prod(dims, dtype=np.int64))
    expected, got = count * dtype.itemsize, len(raw) - header
    if got != expected:
        what = "truncated IDX file" if got < expected else "IDX file has trailing bytes"
        raise GanstyleError(f"{source}: {what}: header says {'x'.join(map(str, dims))} "
                            f"({expected:,} bytes of data) but {got:,} bytes follow")
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=False) if dtype.byteorder == ">" else arr


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzip-compressed or plain (detected from its first bytes)."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise GanstyleError(f"{path}: corrupt or truncated gzip data ({exc}); delete it and download it again") from None
    return parse_idx(raw, path)


def _check_labels(labels: np.ndarray, n: int, source: Any, num_classes: int = 10) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n:
        raise GanstyleError(f"{source}: {len(labels)} labels for {n} images")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise GanstyleError(f"{source}: labels must lie in 0..{num_classes - 1}, found {labels.min()}..{labels.max()}")
    return labels.astype(np.int64)


def _load_idx_dataset(name: str, split: str, cache_dir, download: bool) -> tuple[np.ndarray, np.ndarray, Path]:
    images_name, labels_name = IDX_SPLITS[split]
    paths = fetch(name, (images_name, labels_name), cache_dir, download)
    images = read_idx(paths[images_name])
    if images.ndim != 3 or images.dtype != np.uint8:
        raise GanstyleError(f"{paths[images_name]}: expected uint8 images (N, H, W), found {images.dtype} {images.shape}")
    labels = _check_labels(read_idx(paths[labels_name]), len(images), paths[labels_name])
    return images[:, None], labels, paths[images_name].parent


# ----------------------------------------------------------------------------- CIFAR-10 pickles


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _array_reconstruct(cls, shape, typecode):
    if cls is not np.ndarray:
        raise pickle.UnpicklingError(f"refusing to build an array of type {cls!r}")
    return _numpy_reconstruct()(cls, shape, typecode)


def _plain_dtype(spec, align=False, copy=False):
    dt = np.dtype(spec, align, copy)
    if dt.hasobject:
        raise pickle.UnpicklingError("refusing an object dtype (it could hold arbitrary Python objects)")
    return dt


_PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _array_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _array_reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _plain_dtype,
}


class _RefusedGlobal(pickle.UnpicklingError):
    pass


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles plain data and numpy arrays; any other importable name is refused."""

    def find_class(self, module: str, name: str):
        try:
            return _PICKLE_ALLOWED[(module, name)]
        except KeyError:
            raise _RefusedGlobal(f"{module}.{name}") from None


def safe_unpickle(raw: bytes, source: Any = "<pickle>") -> Any:
    """Load a CIFAR-style pickle without executing anything it names (see module docstring)."""
    try:
        # latin1 turns Python 2 byte strings into str exactly as the originals were written.
        return _BatchUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except _RefusedGlobal as exc:
        raise GanstyleError(f"{source}: refusing to unpickle {exc}: a CIFAR batch holds only plain data "
                            f"and numpy arrays, so this file is not one (possibly malicious)") from None
    except Exception as exc:  # a malformed pickle can fail in many ways; none of them is a bug here
        raise GanstyleError(f"{source}: not a readable CIFAR batch ({type(exc).__name__}: {exc})") from None


def _plain_keys(obj: Any, source: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise GanstyleError(f"{source}: expected a dict in the CIFAR batch, found {type(obj).__name__}")
    return {(k.decode("latin1") if isinstance(k, bytes) else str(k)): v for k, v in obj.items()}


def parse_cifar_batch(raw: bytes, source: Any = "<batch>") -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch -> uint8 images (N, 3, 32, 32) and int64 labels (N,)."""
    batch = _plain_keys(safe_unpickle(raw, source), source)
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        desc = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise GanstyleError(f"{source}: 'data' must be a uint8 array (N, 3072), found {desc}")
    if not isinstance(labels, (list, np.ndarray)):
        raise GanstyleError(f"{source}: 'labels' missing or not a list")
    return data.reshape(-1, 3, 32, 32), _check_labels(np.asarray(labels, dtype=np.int64), len(data), source)


def _cifar_class_names(raw: bytes | None, source: Any) -> list[str]:
    if raw is None:
        return list(CLASS_NAMES["cifar10"])
    meta = _plain_keys(safe_unpickle(raw, source), source)
    names = meta.get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise GanstyleError(f"{source}: 'label_names' must list 10 class names")
    return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]


def _read_tar_members(path: Path, wanted: set[str]) -> dict[str, bytes]:
    """Read the wanted files of ``cifar-10-batches-py/`` from the tarball, in memory."""
    found: dict[str, bytes] = {}
    try:
        # Stream mode reads strictly forward: one decompression pass, nothing written to disk.
        with tarfile.open(path, "r|gz") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if member.isfile() and len(parts) == 2 and parts[0] == CIFAR10_FOLDER and parts[1] in wanted:
                    f = tar.extractfile(member)
                    found[parts[1]] = f.read() if f is not None else b""
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise GanstyleError(f"{path}: corrupt or truncated archive ({exc}); delete it and download it again") from None
    return found


def _cifar_source(cache_dir, download: bool, members: tuple[str, ...]) -> tuple[Path, dict[str, bytes]]:
    """The CIFAR-10 member files, from an unpacked folder if complete and valid, else the tarball."""
    folder = data_root(cache_dir) / "cifar10" / CIFAR10_FOLDER
    if all((folder / m).is_file() for m in members):
        contents = {}
        for m in members:
            got = md5_file(folder / m)
            if got != CIFAR10_MEMBERS[m]:
                raise GanstyleError(f"{folder / m}: MD5 {got} does not match the official {CIFAR10_MEMBERS[m]}; "
                                    f"delete the folder and run again, or unpack {CIFAR10_URL} there")
            contents[m] = (folder / m).read_bytes()
        return folder, contents
    archive = fetch("cifar10", ("cifar-10-python.tar.gz",), cache_dir, download)["cifar-10-python.tar.gz"]
    contents = _read_tar_members(archive, set(members))
    absent = [m for m in members if m not in contents]
    if absent:
        raise GanstyleError(f"{archive}: {', '.join(absent)} missing from {CIFAR10_FOLDER}/ in the archive; "
                            f"delete it and download it again")
    return archive, contents


def _load_cifar10(split: str, cache_dir, download: bool) -> tuple[np.ndarray, np.ndarray, Path, list[str]]:
    batches = CIFAR10_SPLITS[split]
    source, contents = _cifar_source(cache_dir, download, batches + ("batches.meta",))
    images, labels = zip(*(parse_cifar_batch(contents[b], f"{source}:{b}") for b in batches))
    class_names = _cifar_class_names(contents.get("batches.meta"), f"{source}:batches.meta")
    return np.concatenate(images), np.concatenate(labels), source, class_names


# ----------------------------------------------------------------------------- public entry


def load_download_dataset(
    name: str,
    image_size: int | None = None,
    channels: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    split: str = "train",
) -> Dataset:
    """MNIST / Fashion-MNIST (1x28x28) or CIFAR-10 (3x32x32) as float32 in [-1, 1].

    ``image_size`` resizes (antialiased when shrinking); ``channels`` converts grey <-> RGB.
    ``split`` is ``train`` or ``test``.
    """
    if name not in FILES:
        raise GanstyleError(f"unknown downloadable dataset {name!r}; choose one of {', '.join(FILES)}")
    if split not in ("train", "test"):
        raise GanstyleError(f"{name}: unknown split {split!r} (train or test)")
    if name == "cifar10":
        images, labels, source, class_names = _load_cifar10(split, cache_dir, download)
    else:
        images, labels, source = _load_idx_dataset(name, split, cache_dir, download)
        class_names = list(CLASS_NAMES[name])
    x = uint8_to_model(images, image_size=image_size, channels=channels)
    return Dataset(name=name, x=x, y=torch.from_numpy(labels), num_classes=10, class_names=class_names,
                   meta={"split": split, "source": str(source)})
