"""MNIST-family and CIFAR-10 loading from small files written here in the official formats."""

from __future__ import annotations

import collections
import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
import urllib.error
import urllib.response

import numpy as np
import pytest
import torch

from ganstyle.data import downloads as dl
from ganstyle.data import load_dataset
from ganstyle.errors import GanstyleError

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
             np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX layout as LeCun documents it, written independently of the parser."""
    big = arr.astype(arr.dtype.newbyteorder(">")) if arr.dtype.itemsize > 1 else arr
    header = bytes([0, 0, IDX_CODES[big.dtype], arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + big.tobytes()


def gz(data: bytes, mtime: int = 0) -> bytes:
    return gzip.compress(data, mtime=mtime)


# ----------------------------------------------------------------------------- MNIST family


@pytest.fixture
def idx_arrays():
    rng = np.random.default_rng(0)
    return {
        "train": (rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), (np.arange(12) * 7 % 10).astype(np.uint8)),
        "test": (rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.array([3, 1, 4, 1, 5], np.uint8)),
    }


def install_idx(monkeypatch, cache, dataset, arrays, *, gzip_train=True, gzip_test=False):
    """Write the four files into ``cache/dataset`` and point the checksum table at them.

    Train files are stored as published (.gz), test files unpacked, as users who ran
    gunzip have them.
    """
    folder = cache / dataset
    folder.mkdir(parents=True, exist_ok=True)
    for split, compressed in (("train", gzip_train), ("test", gzip_test)):
        for name, arr in zip(dl.IDX_SPLITS[split], arrays[split]):
            raw = idx_bytes(arr)
            packed = gz(raw)
            (folder / (name if compressed else name[:-3])).write_bytes(packed if compressed else raw)
            entry = dataclasses.replace(dl.FILES[dataset][name], md5=md5(packed), raw_md5=md5(raw))
            monkeypatch.setitem(dl.FILES[dataset], name, entry)
    return folder


def no_network(monkeypatch):
    calls = []

    def refuse(url, timeout):
        calls.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(dl, "_open_url", refuse)
    return calls


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_idx_dataset_gz_and_unpacked(tmp_path, monkeypatch, idx_arrays, dataset):
    install_idx(monkeypatch, tmp_path, dataset, idx_arrays)
    calls = no_network(monkeypatch)
    for split in ("train", "test"):
        images, labels = idx_arrays[split]
        ds = load_dataset(dataset, cache_dir=str(tmp_path), split=split)
        assert ds.x.shape == (len(images), 1, 28, 28) and ds.x.dtype == torch.float32
        expected = torch.from_numpy(images.astype(np.float32) / 255 * 2 - 1)[:, None]
        torch.testing.assert_close(ds.x, expected, atol=1e-6, rtol=0)
        assert ds.y.tolist() == labels.tolist() and ds.y.dtype == torch.int64
        assert ds.num_classes == 10 and ds.class_names == dl.CLASS_NAMES[dataset]
    assert calls == [], "files present and valid must not touch the network"
    assert load_dataset(dataset, cache_dir=str(tmp_path)).class_names[0] == ("0" if dataset == "mnist" else "T-shirt/top")


def test_idx_resize_and_channels(tmp_path, monkeypatch, idx_arrays):
    install_idx(monkeypatch, tmp_path, "mnist", idx_arrays)
    no_network(monkeypatch)
    native = load_dataset("mnist", cache_dir=str(tmp_path))
    ds = load_dataset("mnist", cache_dir=str(tmp_path), image_size=32, channels=3)
    assert ds.x.shape == (12, 3, 32, 32)
    assert torch.equal(ds.x[:, 0], ds.x[:, 1]) and torch.equal(ds.x[:, 1], ds.x[:, 2])
    assert ds.x.min() >= -1 and ds.x.max() <= 1
    # Bilinear resizing keeps each image's mean brightness (up to border effects).
    torch.testing.assert_close(ds.x.mean(dim=(1, 2, 3)), native.x.mean(dim=(1, 2, 3)), atol=0.02, rtol=0)
    small = load_dataset("mnist", cache_dir=str(tmp_path), image_size=14)
    # An antialiased 2x shrink is the triangle filter [1, 3, 3, 1] / 8 per axis (a plain
    # bilinear one would be the 2x2 box average, which aliases); compare interior pixels.
    k1 = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 8
    kernel = (k1[:, None] * k1[None, :]).view(1, 1, 4, 4)
    tri = torch.nn.functional.conv2d(native.x[:, :, 1:-1, 1:-1], kernel, stride=2)
    torch.testing.assert_close(small.x[:, :, 1:-1, 1:-1], tri, atol=1e-5, rtol=0)
    with pytest.raises(GanstyleError, match="--channels must be 1 or 3"):
        load_dataset("mnist", cache_dir=str(tmp_path), channels=4)


def test_parse_idx_every_dtype():
    rng = np.random.default_rng(1)
    for dtype in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64):
        arr = (rng.standard_normal((3, 4, 2)) * 100).astype(dtype)
        out = dl.parse_idx(idx_bytes(arr.astype(np.dtype(dtype).newbyteorder(">"))), "x.idx")
        assert out.dtype.isnative and out.shape == (3, 4, 2)
        np.testing.assert_array_equal(out, arr)
    vec = np.arange(70000, dtype=np.uint8)  # a dimension above 65535 needs all 4 size bytes
    np.testing.assert_array_equal(dl.parse_idx(idx_bytes(vec)), vec)


def test_idx_broken_files_name_the_file(tmp_path):
    good = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    cases = {
        "truncated-idx3-ubyte": (good[:-10], "truncated IDX file"),
        "trailing-idx3-ubyte": (good + b"xx", "trailing bytes"),
        "garbage-idx3-ubyte": (b"<html>Not Found</html>", "not an IDX file"),
        "header-idx3-ubyte": (good[:9], "truncated IDX file"),
        "empty-idx3-ubyte": (b"", "not an IDX file"),
        "cut-idx3-ubyte.gz": (gz(good)[:-12], "corrupt or truncated gzip"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(GanstyleError) as info:
            dl.read_idx(path)
        assert str(path) in str(info.value) and message in str(info.value), str(info.value)


def test_idx_gz_read_as_plain_or_compressed_alike(tmp_path):
    arr = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    (tmp_path / "a.gz").write_bytes(gz(idx_bytes(arr)))
    (tmp_path / "a").write_bytes(idx_bytes(arr))
    np.testing.assert_array_equal(dl.read_idx(tmp_path / "a.gz"), dl.read_idx(tmp_path / "a"))


def test_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("GANSTYLE_DATA", str(tmp_path / "env"))
    assert dl.data_root(tmp_path / "flag") == tmp_path / "flag"
    assert dl.data_root(None) == tmp_path / "env"
    monkeypatch.delenv("GANSTYLE_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert dl.data_root(None) == tmp_path / "xdg" / "ganstyle" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert dl.data_root(None) == tmp_path / "home" / ".cache" / "ganstyle" / "data"


def test_env_var_cache_is_used(tmp_path, monkeypatch, idx_arrays):
    install_idx(monkeypatch, tmp_path / "store", "mnist", idx_arrays)
    no_network(monkeypatch)
    monkeypatch.setenv("GANSTYLE_DATA", str(tmp_path / "store"))
    assert len(load_dataset("mnist", split="test")) == 5


def test_offline_error_names_urls_and_targets(tmp_path, monkeypatch):
    calls = no_network(monkeypatch)
    with pytest.raises(GanstyleError) as info:
        load_dataset("mnist", cache_dir=str(tmp_path), split="train")
    msg = str(info.value)
    assert "\n" not in msg
    for name in dl.IDX_SPLITS["train"]:
        assert dl.FILES["mnist"][name].urls[0] in msg
        assert str(tmp_path / "mnist" / name) in msg
    assert "no network in tests" in msg
    # Both mirrors of the first file were tried; after that the network counts as down.
    assert calls == list(dl.FILES["mnist"]["train-images-idx3-ubyte.gz"].urls)
    assert not any((tmp_path / "mnist").iterdir()), "a failed download must leave no partial file"


def test_unwritable_cache_dir(tmp_path, monkeypatch):
    no_network(monkeypatch)
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache path runs through a file")
    with pytest.raises(GanstyleError, match="cannot create the data cache folder") as info:
        load_dataset("mnist", cache_dir=str(blocker / "cache"))
    assert str(blocker / "cache" / "mnist") in str(info.value)


def test_download_disabled_never_touches_network(tmp_path, monkeypatch):
    calls = no_network(monkeypatch)
    with pytest.raises(GanstyleError, match="downloads are disabled") as info:
        load_dataset("cifar10", cache_dir=str(tmp_path), download=False)
    assert dl.CIFAR10_URL in str(info.value)
    assert str(tmp_path / "cifar10" / "cifar-10-python.tar.gz") in str(info.value)
    assert calls == []


def serve(monkeypatch, payloads: dict[str, bytes]):
    """Replace the network by a dict url -> body; unknown URLs are 404s."""
    calls = []

    def fake_open(url, timeout):
        calls.append(url)
        if url not in payloads:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        body = payloads[url]
        return urllib.response.addinfourl(io.BytesIO(body), {"Content-Length": str(len(body))}, url)

    monkeypatch.setattr(dl, "_open_url", fake_open)
    return calls


def test_download_falls_back_to_mirror_verifies_and_caches(tmp_path, monkeypatch, idx_arrays):
    source = install_idx(monkeypatch, tmp_path / "published", "mnist", idx_arrays)
    payloads = {}
    for name in dl.IDX_SPLITS["train"]:
        # First mirror is "down" (404); the second serves the file.
        payloads[dl.FILES["mnist"][name].urls[1]] = (source / name).read_bytes()
    calls = serve(monkeypatch, payloads)
    ds = load_dataset("mnist", cache_dir=str(tmp_path / "cache"))
    assert len(calls) == 4 and ds.y.tolist() == idx_arrays["train"][1].tolist()
    for name in dl.IDX_SPLITS["train"]:
        assert (tmp_path / "cache" / "mnist" / name).read_bytes() == (source / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir()) == sorted(dl.IDX_SPLITS["train"])
    load_dataset("mnist", cache_dir=str(tmp_path / "cache"))
    assert len(calls) == 4, "a verified cached file must not be downloaded again"


def test_download_with_wrong_checksum_is_rejected(tmp_path, monkeypatch, idx_arrays):
    install_idx(monkeypatch, tmp_path / "published", "mnist", idx_arrays)
    name = "t10k-images-idx3-ubyte.gz"
    serve(monkeypatch, {url: b"corrupted body" for url in dl.FILES["mnist"][name].urls})
    with pytest.raises(GanstyleError) as info:
        load_dataset("mnist", cache_dir=str(tmp_path / "cache"), split="test")
    assert "MD5" in str(info.value) and dl.FILES["mnist"][name].urls[0] in str(info.value)
    assert not (tmp_path / "cache" / "mnist" / name).exists()
    assert not [p for p in (tmp_path / "cache" / "mnist").iterdir() if p.name.startswith(".")]


def test_present_file_with_wrong_checksum_names_it(tmp_path, monkeypatch, idx_arrays):
    folder = install_idx(monkeypatch, tmp_path, "mnist", idx_arrays)
    calls = no_network(monkeypatch)
    bad = folder / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(gz(idx_bytes(np.ones(12, np.uint8))))
    with pytest.raises(GanstyleError) as info:
        load_dataset("mnist", cache_dir=str(tmp_path))
    assert str(bad) in str(info.value) and "does not match" in str(info.value)
    assert calls == []


def test_recompressed_archive_is_accepted_by_content(tmp_path, monkeypatch, idx_arrays):
    folder = install_idx(monkeypatch, tmp_path, "mnist", idx_arrays)
    name = "train-images-idx3-ubyte.gz"
    raw = gzip.decompress((folder / name).read_bytes())
    (folder / name).write_bytes(gz(raw, mtime=1_700_000_000))  # a mirror's re-compression
    assert md5((folder / name).read_bytes()) != dl.FILES["mnist"][name].md5
    no_network(monkeypatch)
    ds = load_dataset("mnist", cache_dir=str(tmp_path))
    assert len(ds) == 12


@pytest.mark.shared_data
def test_real_mnist_test_set_if_present(tmp_path):
    """The official MNIST test files, when a checkout has them beside it (real checksums)."""
    here = os.path.dirname(__file__)
    shared = os.path.abspath(os.path.join(here, "..", "..", "..", "shared", "data", "mnist"))
    if not os.path.isfile(os.path.join(shared, "t10k-images-idx3-ubyte.gz")):
        pytest.skip("../shared/data/mnist not present")
    os.makedirs(tmp_path / "mnist")
    for name in dl.IDX_SPLITS["test"]:
        os.symlink(os.path.join(shared, name), tmp_path / "mnist" / name)
    ds = load_dataset("mnist", cache_dir=str(tmp_path), split="test", download=False)
    assert ds.x.shape == (10000, 1, 28, 28)
    assert ds.y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert torch.bincount(ds.y).tolist()[:2] == [980, 1135]


# ----------------------------------------------------------------------------- CIFAR-10


def py2_batch(data: np.ndarray, labels: list[int]) -> bytes:
    """{'data': uint8 array, 'labels': [...]} as Python 2's cPickle (protocol 2) wrote CIFAR-10.

    Hand-assembled so the test exercises the original byte strings and the
    ``numpy.core.multiarray`` name that current numpy no longer emits.
    """
    def string(b: bytes) -> bytes:
        return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<i", len(b)) + b

    def integer(v: int) -> bytes:
        return b"K" + bytes([v]) if v < 256 else b"J" + struct.pack("<i", v)

    dtype = b"cnumpy\ndtype\n" + string(b"u1") + integer(0) + integer(1) + b"\x87R"
    dtype += b"(" + integer(3) + string(b"|") + b"NNN" + b"J\xff\xff\xff\xff" * 2 + integer(0) + b"tb"
    shape = b"(" + b"".join(integer(d) for d in data.shape) + b"t"
    array = b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + integer(0) + b"\x85" + string(b"b") + b"\x87R"
    array += b"(" + integer(1) + shape + dtype + b"\x89" + string(data.tobytes()) + b"tb"
    label_list = b"](" + b"".join(integer(v) for v in labels) + b"e"
    return b"\x80\x02}(" + string(b"data") + array + string(b"labels") + label_list + b"u."


def py3_batch(data: np.ndarray, labels: list[int]) -> bytes:
    return pickle.dumps({b"batch_label": b"batch", b"labels": labels, b"data": data,
                         b"filenames": [b"x.png"] * len(labels)}, protocol=4)


def tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


CLASSES = [f"class{i}" for i in range(10)]


@pytest.fixture
def cifar(tmp_path, monkeypatch):
    """A 5-batch train / 1 test CIFAR-10 tarball in the official layout; returns (cache, arrays)."""
    rng = np.random.default_rng(2)
    arrays = {}
    members = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        n = 3 + i % 2
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n)]
        arrays[name] = (data, labels)
        members[f"cifar-10-batches-py/{name}"] = (py2_batch if name == "data_batch_1" else py3_batch)(data, labels)
    meta = {b"label_names": [c.encode() for c in CLASSES], b"num_cases_per_batch": 10000, b"num_vis": 3072}
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(meta, protocol=4)
    members["cifar-10-batches-py/readme.html"] = b"<html></html>"
    members["../escaped"] = b"a member outside the folder is never written"
    write_cifar(tmp_path, monkeypatch, members)
    return tmp_path, arrays, members


def write_cifar(cache, monkeypatch, members):
    blob = tar_gz(members)
    (cache / "cifar10").mkdir(exist_ok=True)
    (cache / "cifar10" / "cifar-10-python.tar.gz").write_bytes(blob)
    name = "cifar-10-python.tar.gz"
    monkeypatch.setitem(dl.FILES["cifar10"], name, dataclasses.replace(dl.FILES["cifar10"][name], md5=md5(blob)))


def test_cifar_tarball_train_and_test(cifar, monkeypatch):
    cache, arrays, _ = cifar
    no_network(monkeypatch)
    ds = load_dataset("cifar10", cache_dir=str(cache))
    data = np.concatenate([arrays[f"data_batch_{k}"][0] for k in range(1, 6)])
    labels = sum((arrays[f"data_batch_{k}"][1] for k in range(1, 6)), [])
    assert ds.x.shape == (len(data), 3, 32, 32) and ds.y.tolist() == labels
    assert ds.class_names == CLASSES and ds.num_classes == 10
    # Channel planes: the first 1024 bytes of a row are red, then green, then blue, row-major.
    i, r, c = 4, 5, 7
    for ch in range(3):
        assert ds.x[i, ch, r, c].item() == pytest.approx(data[i, ch * 1024 + r * 32 + c] / 255 * 2 - 1, abs=1e-6)
    test = load_dataset("cifar10", cache_dir=str(cache), split="test")
    assert test.y.tolist() == arrays["test_batch"][1]
    torch.testing.assert_close(test.x.reshape(len(test), -1),
                               torch.from_numpy(arrays["test_batch"][0] / 255 * 2 - 1).float(), atol=1e-6, rtol=0)
    assert not (cache / "escaped").exists() and not (cache / "cifar10" / "cifar-10-batches-py").exists()
    grey = load_dataset("cifar10", cache_dir=str(cache), split="test", channels=1, image_size=16)
    assert grey.x.shape == (len(test), 1, 16, 16)


def test_cifar_unpacked_folder(cifar, monkeypatch):
    cache, arrays, members = cifar
    (cache / "cifar10" / "cifar-10-python.tar.gz").unlink()
    folder = cache / "cifar10" / "cifar-10-batches-py"
    folder.mkdir()
    for name, data in members.items():
        if name.startswith("cifar-10-batches-py/"):
            (folder / name.split("/")[1]).write_bytes(data)
            if name.split("/")[1] in dl.CIFAR10_MEMBERS:
                monkeypatch.setitem(dl.CIFAR10_MEMBERS, name.split("/")[1], md5(data))
    no_network(monkeypatch)
    ds = load_dataset("cifar10", cache_dir=str(cache), split="test")
    assert ds.y.tolist() == arrays["test_batch"][1]
    (folder / "test_batch").write_bytes(members["cifar-10-batches-py/data_batch_2"])
    with pytest.raises(GanstyleError, match="test_batch: MD5"):
        load_dataset("cifar10", cache_dir=str(cache), split="test")


class _RunsCommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_cifar_malicious_pickle_is_refused_without_running(cifar, monkeypatch, tmp_path):
    cache, _, members = cifar
    marker = tmp_path / "pwned"
    members = dict(members)
    members["cifar-10-batches-py/data_batch_3"] = pickle.dumps(
        {b"data": _RunsCommand(f"touch {marker}"), b"labels": [0]}, protocol=4)
    write_cifar(cache, monkeypatch, members)
    with pytest.raises(GanstyleError) as info:
        load_dataset("cifar10", cache_dir=str(cache))
    msg = str(info.value)
    assert "refusing to unpickle" in msg and "system" in msg and "data_batch_3" in msg
    assert not marker.exists()


def test_safe_unpickle_allows_only_plain_data_and_arrays():
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = dl.safe_unpickle(pickle.dumps({"a": [1, "x", b"y"], "arr": arr}, protocol=4))
    np.testing.assert_array_equal(out["arr"], arr)
    assert out["a"] == [1, "x", b"y"]
    for evil in (pickle.dumps(_RunsCommand("true"), protocol=4), pickle.dumps(eval),
                 pickle.dumps(collections.OrderedDict(a=1)), b"cbuiltins\neval\n(V1+1\ntR."):
        with pytest.raises(GanstyleError, match="refusing to unpickle"):
            dl.safe_unpickle(evil, "evil.pkl")
    objects = pickle.dumps(np.array([1, "two"], dtype=object), protocol=4)
    with pytest.raises(GanstyleError, match="object dtype"):
        dl.safe_unpickle(objects, "objects.pkl")
    with pytest.raises(GanstyleError, match="not a readable CIFAR batch"):
        dl.safe_unpickle(b"\x80\x04garbage", "garbage.pkl")


def test_cifar_bad_batches(cifar, monkeypatch):
    cache, _, members = cifar
    cases = [
        (py3_batch(np.zeros((2, 100), np.uint8), [0, 1]), "uint8 array \\(N, 3072\\)"),
        (py3_batch(np.zeros((2, 3072), np.uint8), [0, 1, 2]), "3 labels for 2 images"),
        (py3_batch(np.zeros((2, 3072), np.uint8), [0, 10]), "labels must lie in 0..9"),
    ]
    for blob, message in cases:
        write_cifar(cache, monkeypatch, {**members, "cifar-10-batches-py/test_batch": blob})
        with pytest.raises(GanstyleError, match=message):
            load_dataset("cifar10", cache_dir=str(cache), split="test")
    without = {k: v for k, v in members.items() if not k.endswith("test_batch")}
    write_cifar(cache, monkeypatch, without)
    with pytest.raises(GanstyleError, match="test_batch missing"):
        load_dataset("cifar10", cache_dir=str(cache), split="test")
    archive = cache / "cifar10" / "cifar-10-python.tar.gz"
    cut = archive.read_bytes()[: archive.stat().st_size // 2]
    archive.write_bytes(cut)
    monkeypatch.setitem(dl.FILES["cifar10"], archive.name,
                        dataclasses.replace(dl.FILES["cifar10"][archive.name], md5=md5(cut)))
    with pytest.raises(GanstyleError, match="corrupt or truncated archive") as info:
        load_dataset("cifar10", cache_dir=str(cache), split="test")
    assert str(archive) in str(info.value)


def test_unknown_split(tmp_path):
    with pytest.raises(GanstyleError, match="unknown split"):
        load_dataset("mnist", cache_dir=str(tmp_path), split="valid")
