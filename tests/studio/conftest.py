"""Fixtures for the studio: a real server on a free loopback port, and a small HTTP client."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from ganstyle.studio import BackgroundStudio  # noqa: E402
from ganstyle.studio.files import UploadLimits  # noqa: E402

# Small enough that the tests can exceed them with tiny files.
TEST_LIMITS = UploadLimits(max_bytes=200_000, max_pixels=300 * 300, max_zip_files=50, max_unpacked_bytes=2_000_000)
JOB_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Client:
    """JSON over HTTP to a studio; returns (status, parsed body)."""

    def __init__(self, base: str, headers: dict[str, str] | None = None):
        self.base = base
        self.headers = {"X-Studio": "1", **(headers or {})}

    def request(self, method: str, path: str, body: bytes | dict | None = None, headers: dict | None = None):
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={**self.headers, **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw, status, ctype = resp.read(), resp.status, resp.headers.get("content-type", "")
        except urllib.error.HTTPError as exc:
            raw, status, ctype = exc.read(), exc.code, exc.headers.get("content-type", "")
        return status, (json.loads(raw) if "json" in ctype else raw)

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, body=None, **kw):
        return self.request("POST", path, body if body is not None else b"", **kw)

    def upload(self, name: str, data: bytes):
        from urllib.parse import quote

        return self.post(f"/api/upload?name={quote(name)}", data)

    def wait_job(self, job_id: str, until=("done", "failed", "stopped", "cancelled"), timeout: float = 120.0,
                 check=None) -> dict:
        """Poll until the job reaches a state in ``until`` (and ``check(job)`` holds, if given)."""
        deadline = time.monotonic() + timeout
        while True:
            status, job = self.get(f"/api/jobs/{job_id}")
            assert status == 200, job
            if job["state"] in until and (check is None or check(job)):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {job['state']} after {timeout} s: {job}")
            time.sleep(0.3)


def png_bytes(size=(40, 30), colour=(200, 80, 40)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """One server per test module (starting one costs a moment); each test uses its own files."""
    with BackgroundStudio(tmp_path_factory.mktemp("studio"), limits=TEST_LIMITS, job_env=JOB_ENV) as server:
        yield server


@pytest.fixture(scope="module")
def client(studio) -> Client:
    return Client(studio.url)
