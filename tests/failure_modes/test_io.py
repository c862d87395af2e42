"""Failure modes of file input/output: images that cannot be read, outputs that cannot be written,
weights files that are not weights. One row per case: what to set up, what the user must see."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganstyle.errors import GanstyleError
from ganstyle.io.images import list_images, open_image, save_image

from .conftest import assert_one_line_error


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (200, 30, 30)).save(path)
    return path


def _loop(tmp: Path) -> Path:
    (tmp / "a.png").symlink_to(tmp / "b.png")
    (tmp / "b.png").symlink_to(tmp / "a.png")
    return tmp / "a.png"


def _deny(monkeypatch, target, name: str, path_of=lambda *a, **k: a[0]):
    """Make ``target.name`` raise PermissionError, as it does for a user without the right (tests run as root too)."""
    real = getattr(target, name)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path_of(*args, **kwargs)))

    monkeypatch.setattr(target, name, denied)
    return real


def _dangling(tmp: Path) -> Path:
    (tmp / "gone.png").symlink_to(tmp / "deleted.png")
    return tmp / "gone.png"


def _unreadable_image(tmp, monkeypatch):
    path = _image(tmp / "photo.png")
    _deny(monkeypatch, Image, "open")
    return lambda: open_image(path)


def _unlistable_folder(tmp, monkeypatch):
    folder = _image(tmp / "pics" / "x.png").parent
    _deny(monkeypatch, os, "scandir")
    return lambda: list_images(folder)


def _unwritable_folder(tmp, monkeypatch):
    _deny(monkeypatch, tempfile, "mkstemp", path_of=lambda *a, **k: k.get("dir"))
    return lambda: save_image(torch.zeros(3, 4, 4), tmp / "out.png")


# (case, setup(tmp, monkeypatch) -> call, fragment of the one-line GanstyleError)
LIBRARY_CASES = [
    ("image is a symlink loop", lambda t, m: lambda: open_image(_loop(t)), "a.png: symbolic link loop"),
    ("image is a dangling symlink", lambda t, m: lambda: open_image(_dangling(t)), "gone.png: broken symbolic link"),
    ("image permission denied", _unreadable_image, "photo.png: permission denied"),
    ("image folder permission denied", _unlistable_folder, "pics: permission denied"),
    ("folder is a symlink loop", lambda t, m: lambda: list_images(_loop(t)), "a.png: symbolic link loop"),
    ("output folder not writable", _unwritable_folder, "out.png: cannot write here (permission denied)"),
    ("output parent is a file", lambda t, m: lambda: save_image(torch.zeros(3, 4, 4), _image(t / "x.png") / "y.png"),
     "y.png: cannot write here"),
]


@pytest.mark.parametrize("case,setup,fragment", LIBRARY_CASES, ids=[c[0] for c in LIBRARY_CASES])
def test_library_errors_are_one_line_naming_the_file(case, setup, fragment, tmp_path, monkeypatch):
    call = setup(tmp_path, monkeypatch)
    with pytest.raises(GanstyleError) as info:
        call()
    message = str(info.value)
    assert fragment in message and "\n" not in message
    assert "corrupt" not in message  # the misleading diagnosis these cases used to get


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_real_unreadable_image_is_permission_denied(tmp_path):
    path = _image(tmp_path / "locked.png")
    path.chmod(0)
    with pytest.raises(GanstyleError, match="locked.png: permission denied"):
        open_image(path)


# --------------------------------------------------------------------------- weights files


def _garbage(path: Path) -> Path:
    path.write_bytes(b"this is not a checkpoint")
    return path


def _pickled_module(path: Path) -> Path:
    torch.save({"layer": torch.nn.Linear(2, 2)}, path)  # loading it would need unpickling code
    return path


def _not_a_dict(path: Path) -> Path:
    torch.save([torch.zeros(2)], path)
    return path


WEIGHTS = {
    "garbage .pth": (lambda t: _garbage(t / "w.pth"),
                     "w.pth: not a PyTorch checkpoint that can be loaded safely ("),
    "pickled module": (lambda t: _pickled_module(t / "w.pth"),
                       "w.pth: not a PyTorch checkpoint that can be loaded safely (UnpicklingError: Unsupported global"),
    "list, not a state_dict": (lambda t: _not_a_dict(t / "w.pth"), "w.pth: expected a state_dict"),
    "garbage .safetensors": (lambda t: _garbage(t / "w.safetensors"), "w.safetensors: not a readable .safetensors file"),
    "wrong network": (lambda t: _save_state({"conv.weight": torch.zeros(2)}, t / "w.pth"),
                      "is not the FID Inception-v3 state_dict"),
}


def _save_state(state, path: Path) -> Path:
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    from ganstyle.gan.trainer import TrainConfig, train_gan

    cfg = TrainConfig(data="digits", data_n=64, model="dcgan", latent_dim=8, g_width=8, d_width=8, batch_size=16,
                      steps=2, log_every=1, sample_every=0, ckpt_every=2, device="cpu", precision="fp32")
    return train_gan(cfg, out=tmp_path_factory.mktemp("digits") / "run", progress=False)


def _fid_argv(tmp: Path, weights: Path) -> list:
    for folder in ("a", "b"):
        _image(tmp / folder / "0.png")
    return ["fid", tmp / "a", tmp / "b", "--weights", weights]


UNREADABLE = [kind for kind in WEIGHTS if kind != "wrong network"]
WEIGHTS_CASES = ([("fid", kind) for kind in WEIGHTS] + [("eval", kind) for kind in WEIGHTS]
                 + [("stylize", kind) for kind in UNREADABLE])  # stylize: the VGG-19 loader gives the same line


@pytest.mark.parametrize("command,kind", WEIGHTS_CASES, ids=[f"{c}-{k}" for c, k in WEIGHTS_CASES])
def test_bad_weights_file_is_one_line(command, kind, tmp_path, run_cli, request):
    make, fragment = WEIGHTS[kind]
    weights = make(tmp_path)
    if command == "fid":
        argv = _fid_argv(tmp_path, weights)
    elif command == "stylize":
        photo = _image(tmp_path / "photo.png")
        argv = ["stylize", photo, photo, "--backbone", "vgg19", "--weights", weights, "--out", tmp_path / "out.png"]
    else:
        run = request.getfixturevalue("digits_run")
        argv = ["eval", run, "--metrics", "fid", "--extractor", "inception", "--weights", weights, "--n", 10, "--no-log"]
    result = run_cli(argv)
    assert_one_line_error(result, fragment)
    assert "weights_only" not in result.err


# --------------------------------------------------------------------------- commands reading images


def test_training_folder_that_is_a_symlink_loop(tmp_path, run_cli):
    loop = _loop(tmp_path)
    result = run_cli(["train", "--data", f"folder:{loop}", "--out", tmp_path / "run", "--steps", 1, "--no-progress"])
    assert_one_line_error(result, "a.png: symbolic link loop")


def _denied_weights(tmp: Path, monkeypatch) -> Path:
    _deny(monkeypatch, torch, "load")
    return _garbage(tmp / "w.pth")


# (case, setup(tmp, monkeypatch) -> the --weights path, fragment of the error line)
WEIGHTS_PATH_CASES = [
    ("weights is a symlink loop", lambda t, m: _loop(t), "--weights " + "{tmp}/a.png: symbolic link loop"),
    ("weights is a dangling symlink", lambda t, m: _dangling(t), "--weights {tmp}/gone.png: broken symbolic link"),
    ("weights is a folder", lambda t, m: t, "--weights {tmp}: is a folder, expected pt_inception"),
    ("weights permission denied", _denied_weights, "{tmp}/w.pth: permission denied"),
]


@pytest.mark.parametrize("case,setup,fragment", WEIGHTS_PATH_CASES, ids=[c[0] for c in WEIGHTS_PATH_CASES])
def test_weights_path_problems_are_named(case, setup, fragment, tmp_path, monkeypatch, run_cli):
    weights = setup(tmp_path, monkeypatch)
    argv = _fid_argv(tmp_path / "sets", weights)
    assert_one_line_error(run_cli(argv), fragment.format(tmp=tmp_path))
