"""End to end in a real browser: Debian's Chromium, headless, driven by Playwright.

Skipped when Playwright or a Chromium binary is missing (``make test-browser`` / ``.ci/run``
install both). With ``GANSTYLE_STUDIO_SCREENSHOTS=DIR`` the tests also save a screenshot of
each page there (the README's pictures come from this).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ganstyle.studio import BackgroundStudio

from .conftest import JOB_ENV, TEST_LIMITS

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("GANSTYLE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    pytest.skip("no Chromium binary (apt-get install chromium, or set GANSTYLE_CHROMIUM)", allow_module_level=True)
SHOTS = os.environ.get("GANSTYLE_STUDIO_SCREENSHOTS")
TIMEOUT_MS = 120_000


def _photo() -> bytes:
    """A small 'photo': a gradient sky over a dark hill, so the before/after slider shows something."""
    import io

    import numpy as np
    from PIL import Image

    h, w = 120, 180
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([80 + 100 * y / h, 140 + 60 * y / h, 230 - 60 * y / h], -1)
    rgb[y > 80 + 16 * np.sin(x / 20)] = (40, 70, 30)
    rgb[(x - 140) ** 2 + (y - 30) ** 2 < 150] = (250, 220, 120)  # a sun
    buf = io.BytesIO()
    Image.fromarray(rgb.astype("uint8")).save(buf, format="PNG")
    return buf.getvalue()


def _painting() -> bytes:
    import io

    from ganstyle.io.images import to_uint8
    from ganstyle.style.demo import swirl_painting
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(to_uint8(swirl_painting(96, seed=5))).save(buf, format="PNG")
    return buf.getvalue()


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"studio-{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with BackgroundStudio(tmp_path_factory.mktemp("browser"), limits=TEST_LIMITS, job_env=JOB_ENV) as studio:
        yield studio


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server.url + "/")
    page.wait_for_selector("#style-thumbs img")
    yield page
    context.close()


def _file(name: str, data: bytes, mime: str = "image/png") -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def test_stylise_upload_run_compare_and_download(page, server, tmp_path):
    page.set_input_files("#content-upload", _file("hill.png", _photo()))
    page.wait_for_selector('#content-thumbs img.selected[data-path="uploads/images/hill.png"]')
    page.set_input_files("#style-upload", _file("strokes.png", _painting()))
    page.wait_for_selector('#style-thumbs img.selected[data-path="uploads/images/strokes.png"]')
    page.click('#style-thumbs img[data-path="library/styles/swirl-0.png"]')  # keep only the uploaded style
    page.wait_for_selector('#style-thumbs img:not(.selected)[data-path="library/styles/swirl-0.png"]')
    page.select_option("#st-method", "gatys")
    size = 160 if SHOTS else 48  # the README's picture is worth a few more seconds
    page.fill("#st-size", str(size))
    page.fill("#st-iterations", "60" if SHOTS else "10")
    page.select_option("#st-backbone", "random")
    page.click("#stylise-run")
    page.wait_for_selector("#download:not([hidden])")
    assert page.text_content("#stylise-error") == ""
    page.wait_for_function("document.getElementById('compare-after').naturalWidth > 0")
    page.fill("#compare-slider", "70")
    page.dispatch_event("#compare-slider", "input")
    assert page.eval_on_selector("#after-clip", "e => e.style.width") == "70%"
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / "download.png"
    info.value.save_as(saved)
    result = page.get_attribute("#download", "href").removeprefix("/files/")
    assert saved.read_bytes() == (Path(server.workdir) / result).read_bytes()
    from PIL import Image

    assert max(Image.open(saved).size) == size
    row = page.locator("#job-table tr.job").first
    assert row.locator(".state").text_content() == "done"
    assert row.get_attribute("title").startswith("ganstyle stylize uploads/images/hill.png uploads/images/strokes.png")
    _shot(page, "stylise")
    page.reload()  # the result is still there after a reload
    page.wait_for_selector("#download:not([hidden])")
    assert page.get_attribute("#download", "href") == "/files/" + result


def test_bad_uploads_show_the_one_line_error(page):
    page.set_input_files("#content-upload", _file("notes.png", b"this is text, not a picture"))
    page.wait_for_function("document.getElementById('upload-error').textContent.length > 0")
    assert page.text_content("#upload-error") == "notes.png: not an image file Pillow can read"
    page.set_input_files("#style-upload", _file("huge.png", b"\0" * (TEST_LIMITS.max_bytes + 10)))
    page.wait_for_function("document.getElementById('upload-error').textContent.includes('huge.png')")
    assert page.text_content("#upload-error") == "huge.png: larger than the upload limit of 200,000 bytes"


def test_traversal_is_refused(page, server):
    response = page.goto(server.url + "/files/..%2F..%2F..%2Fetc%2Fpasswd")
    assert response.status == 400
    assert "path leaves the studio workdir" in page.text_content("body")
    assert "root:" not in page.text_content("body")


def test_train_live_plot_and_samples_update_then_stop_and_browse(page, server):
    page.click("#tab-train")
    page.select_option("#tr-data", "ring8")
    page.select_option("#tr-model", "mlp")
    page.fill("#tr-steps", "20000")
    page.fill("#tr-name", "browser-ring8")
    page.fill("#tr-sample-every", "40")
    page.click("#train-start")
    # The loss plot redraws with more points and the sample grid changes, by themselves.
    page.wait_for_function("+(document.getElementById('loss-plot').dataset.points || 0) >= 2")
    page.wait_for_function("document.getElementById('live-sample').naturalWidth > 0")
    first = page.get_attribute("#live-sample", "data-path")
    assert first.startswith("runs/browser-ring8/samples/step_")
    page.wait_for_function(f"document.getElementById('live-sample').dataset.path !== '{first}'"
                           " && document.getElementById('live-sample').naturalWidth > 0")
    points = int(page.get_attribute("#loss-plot", "data-points"))
    page.wait_for_function(f"+document.getElementById('loss-plot').dataset.points > {points}")
    _shot(page, "train")
    page.reload()  # the queue lives on the server: the page finds the running job again
    page.click("#tab-train")
    page.wait_for_selector("#train-stop:not([disabled])")
    page.click("#train-stop")
    page.wait_for_selector("#train-resume:not([disabled])")
    assert "stopped" in page.text_content("#train-status")
    checkpoints = list((Path(server.workdir) / "runs/browser-ring8/checkpoints").glob("step_*.json"))
    assert checkpoints

    page.click("#tab-runs")
    page.click('#run-list li[data-path="runs/browser-ring8"]')
    page.wait_for_selector("#run-body:not([hidden])")
    step = max(int(p.stem.split("_")[1]) for p in checkpoints)
    assert f"checkpoints at {step}" in page.text_content("#run-info") or f", {step}" in page.text_content("#run-info")
    assert page.locator("#run-samples img").count() >= 2
    page.fill("#rs-n", "32")
    page.click("#rs-sample")
    page.wait_for_selector("#run-outputs img")
    assert page.text_content("#run-error") == ""
    _shot(page, "runs")
