"""Paths stay under the workdir; uploads are checked before they are kept."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import pytest

from ganstyle.errors import GanstyleError
from ganstyle.studio.files import (
    PathRefused, UploadLimits, clean_name, safe_path, save_image_upload, save_zip_upload,
)

from .conftest import png_bytes

LIMITS = UploadLimits(max_bytes=200_000, max_pixels=300 * 300, max_zip_files=3, max_unpacked_bytes=100_000)


@pytest.mark.parametrize("rel, fragment", [
    ("../outside.txt", "leaves the studio workdir"),
    ("a/../../outside.txt", "leaves the studio workdir"),
    ("/etc/passwd", "absolute paths are refused"),
    ("C:/Windows/win.ini", "absolute paths are refused"),
    ("nul\x00byte", "not a path inside"),
    ("", "not a path inside"),
    ("missing.png", "no such file"),
])
def test_safe_path_refuses_escapes(tmp_path, rel, fragment):
    with pytest.raises(PathRefused, match=fragment.replace("(", r"\(")):
        safe_path(tmp_path, rel)


def test_safe_path_follows_links_before_judging(tmp_path):
    (tmp_path / "inside.txt").write_text("ok")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("secret")
    os.symlink(outside, tmp_path / "link.txt")
    assert safe_path(tmp_path, "inside.txt") == (tmp_path / "inside.txt").resolve()
    with pytest.raises(PathRefused, match="leaves the studio workdir"):
        safe_path(tmp_path, "link.txt")


def test_clean_name_keeps_only_a_plain_file_name():
    assert clean_name("../../etc/pass wd.png") == "pass_wd.png"
    assert clean_name("..\\..\\x.jpg") == "x.jpg"
    assert clean_name(".hidden") == "hidden"
    assert clean_name("--out.png") == "out.png"  # never looks like a flag
    assert clean_name("///") == "upload"


def test_image_upload_is_decoded_and_named_safely(tmp_path):
    first = save_image_upload(tmp_path, "../My Photo.png", png_bytes(), LIMITS)
    second = save_image_upload(tmp_path, "My Photo.png", png_bytes(), LIMITS)
    assert first == tmp_path / "uploads/images/My_Photo.png"
    assert second.name == "My_Photo-2.png"  # never overwrites an earlier upload


@pytest.mark.parametrize("name, data, fragment", [
    ("notes.png", b"just some text, not a picture", "notes.png: not an image file Pillow can read"),
    ("notes.txt", png_bytes(), "notes.txt: not an image name"),
    ("huge.png", png_bytes((400, 400)), "huge.png: image is 400x400 pixels, more than the 90,000 allowed"),
    ("cut.png", png_bytes()[:60], "cut.png: corrupt or truncated image"),
])
def test_bad_image_uploads_are_refused_and_not_kept(tmp_path, name, data, fragment):
    with pytest.raises(GanstyleError) as info:
        save_image_upload(tmp_path, name, data, LIMITS)
    assert fragment in str(info.value)
    assert str(tmp_path) not in str(info.value)  # the message names the upload, not the server's folder
    assert not list((tmp_path / "uploads/images").glob("*"))


def _zip(entries: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def test_zip_upload_unpacks_images_into_their_own_folder(tmp_path):
    data = _zip({"faces/a.png": png_bytes(), "faces/b/c.jpg": _jpeg(), "__MACOSX/faces/._a.png": b"junk"})
    folder = save_zip_upload(tmp_path, "faces.zip", data, LIMITS)
    assert folder == tmp_path / "uploads/datasets/faces"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == ["faces/a.png", "faces/b/c.jpg"]


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("data, fragment", [
    (_zip({"../evil.png": png_bytes()}), "set.zip: ../evil.png points outside the upload"),
    (_zip({"/abs/evil.png": png_bytes()}), "set.zip: /abs/evil.png points outside the upload"),
    (_zip({"ok.png": png_bytes()}, links=("link.png",)), "set.zip: link.png is a symbolic link"),
    (_zip({"run.py": b"print(1)"}), "set.zip: run.py is not an image"),
    (_zip({"fake.png": b"text"}), "set.zip: fake.png: not an image file Pillow can read"),
    (_zip({f"{i}.png": png_bytes() for i in range(4)}), "set.zip: 4 images, more than the 3 allowed"),
    (_zip({"big.png": b"\0" * 150_000}), "unpacks to 150,000 bytes, more than the 100,000 allowed"),
    (_zip({}), "set.zip: the zip holds no images"),
    (b"PK not really a zip", "set.zip: not a zip file"),
])
def test_bad_zip_uploads_are_refused_and_leave_nothing(tmp_path, data, fragment):
    with pytest.raises(GanstyleError) as info:
        save_zip_upload(tmp_path, "set.zip", data, LIMITS)
    assert fragment in str(info.value)
    datasets = tmp_path / "uploads/datasets"
    assert not datasets.exists() or not any(datasets.iterdir())
    assert not (tmp_path.parent / "evil.png").exists()
