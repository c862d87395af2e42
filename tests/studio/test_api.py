"""The studio's HTTP API against a real server on loopback: every endpoint's success and error
paths, the safety checks, and the job queue running real (tiny) ganstyle commands."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from ganstyle.studio import BackgroundStudio

from .conftest import JOB_ENV, TEST_LIMITS, Client, png_bytes


def test_page_and_static_files_are_served(client):
    status, html = client.get("/")
    assert status == 200 and b"ganstyle <span>studio</span>" in html
    for name in ("studio.js", "studio.css"):
        status, body = client.get(f"/static/{name}")
        assert status == 200 and len(body) > 1000
    assert b"http" not in client.get("/static/studio.js")[1].replace(b"HTTP", b"")  # no CDN: only this server


def test_options_offer_what_the_cli_accepts(client):
    from ganstyle.cli import build_parser

    status, opts = client.get("/api/options")
    assert status == 200
    stylize = build_parser()._subparsers._group_actions[0].choices["stylize"]
    method = next(a for a in stylize._actions if "--method" in a.option_strings)
    assert tuple(opts["methods"]) == tuple(method.choices)
    assert "mlp" in opts["models"] and "hinge" in opts["losses"]
    assert opts["limits"] == {"max_bytes": TEST_LIMITS.max_bytes, "max_pixels": TEST_LIMITS.max_pixels}


def test_images_lists_the_shipped_library_and_uploads(client, studio):
    status, cat = client.get("/api/images")
    assert status == 200
    assert [i["name"] for i in cat["styles"]] == ["swirl-0.png", "swirl-1.png", "swirl-2.png"]
    status, saved = client.upload("portrait.png", png_bytes())
    assert status == 201 and saved["path"] == "uploads/images/portrait.png"
    assert saved["path"] in [i["path"] for i in client.get("/api/images")[1]["uploads"]]
    status, body = client.get("/files/" + saved["path"])
    assert status == 200 and body == png_bytes()


@pytest.mark.parametrize("name, data, status, fragment", [
    ("notes.png", b"plain text pretending to be a PNG", 400, "notes.png: not an image file Pillow can read"),
    ("big.png", b"\0" * (TEST_LIMITS.max_bytes + 1), 413, "big.png: larger than the upload limit of 200,000 bytes"),
    ("wide.png", png_bytes((400, 300)), 400, "wide.png: image is 400x300 pixels, more than the 90,000 allowed"),
    ("empty.png", b"", 400, "empty.png: file is empty"),
    ("", png_bytes(), 400, "give the file name"),
])
def test_upload_errors_are_one_line(client, name, data, status, fragment):
    got, body = client.post(f"/api/upload?name={name}", data)
    assert got == status and fragment in body["error"] and "\n" not in body["error"]


def test_zip_upload_becomes_a_training_set(client):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(3):
            zf.writestr(f"faces/{i}.png", png_bytes((16, 16), (i * 60, 20, 20)))
    status, saved = client.upload("faces.zip", buf.getvalue())
    assert status == 201 and saved["path"].startswith("uploads/datasets/faces")
    assert saved["path"] in [d["path"] for d in client.get("/api/images")[1]["datasets"]]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../escape.png", png_bytes())
    status, body = client.upload("evil.zip", buf.getvalue())
    assert status == 400 and "evil.zip: ../../escape.png points outside the upload" in body["error"]


@pytest.mark.parametrize("path", ["/files/..%2F..%2Fetc%2Fpasswd", "/files/%2Fetc%2Fpasswd", "/api/run?path=../..",
                                  "/api/run?path=%2Fetc"])
def test_traversal_is_refused_with_400(client, path):
    status, body = client.get(path)
    assert status == 400 and ("leaves the studio workdir" in body["error"] or "absolute paths are refused" in body["error"])


def test_missing_things_are_404_or_400(client):
    assert client.get("/files/nothing.png")[0] == 400
    assert client.get("/files/library")[0] == 404  # a folder is not a file
    assert client.get("/api/jobs/unknown")[0] == 404
    assert client.post("/api/jobs/unknown/stop")[0] == 404
    status, body = client.get("/api/run?path=library")
    assert status == 400 and "not a run directory" in body["error"]


@pytest.mark.parametrize("job, fragment", [
    ({"kind": "shell", "cmd": "rm -rf /"}, "kind: 'shell' is not one of"),
    ({"kind": "train", "steps": 0}, "steps: must be a whole number from 1"),
    ({"kind": "train", "steps": "12abc"}, "steps: expected a whole number"),
    ({"kind": "train", "data": "folder:/etc"}, "data: 'folder:/etc' is not one of"),
    ({"kind": "train", "model": "mlp; rm"}, "model: 'mlp; rm' is not one of"),
    ({"kind": "train", "extra_flag": "--config=/etc/passwd"}, "unknown field(s) extra_flag"),
    ({"kind": "stylize", "content": "../../etc/passwd.png", "styles": []}, "leaves the studio workdir"),
    ({"kind": "stylize", "content": "library/styles/swirl-0.png", "styles": ["/etc/hosts"]}, "absolute paths are refused"),
    ({"kind": "stylize", "content": "library/styles/swirl-0.png", "styles": [], "method": "adain"},
     "styles: --method adain needs at least one style image"),
    ({"kind": "stylize", "content": "library/styles/swirl-0.png", "styles": ["library/styles/swirl-1.png"],
      "strength": "nan"}, "strength: must be from 0 to 1"),
    ({"kind": "sample", "run": "library"}, "run library: not a run directory with checkpoints"),
    ({"kind": "eval", "run": "library", "metrics": "fid"}, "not a run directory"),
    ({"kind": "resume", "run": "library/styles"}, "not a run directory"),
])
def test_bad_job_requests_are_refused_before_anything_runs(client, job, fragment):
    before = len(client.get("/api/jobs")[1]["jobs"])
    status, body = client.post("/api/jobs", job)
    assert status == 400 and fragment in body["error"], body
    assert len(client.get("/api/jobs")[1]["jobs"]) == before


def test_job_body_must_be_json(client):
    status, body = client.post("/api/jobs", b"kind=train")
    assert status == 400 and body["error"] == "job: the body must be JSON"


def test_post_needs_the_studio_header(studio):
    bare = Client(studio.url)
    bare.headers = {}
    status, body = bare.post("/api/jobs", {"kind": "train"})
    assert status == 403 and "X-Studio" in body["error"]


def test_foreign_host_names_are_refused_without_a_token(client):
    status, body = client.get("/api/options", headers={"Host": "attacker.example:8765"})
    assert status == 403 and "loopback only" in body["error"]
    assert client.get("/api/options", headers={"Host": "localhost:8765"})[0] == 200


def test_token_is_required_when_set(tmp_path):
    with BackgroundStudio(tmp_path, token="s3cret-token") as server:
        anonymous = Client(server.url)
        status, body = anonymous.get("/api/options")
        assert status == 401 and "studio token" in body["error"]
        assert anonymous.get("/api/options", headers={"Authorization": "Bearer wrong-token"})[0] == 401
        assert anonymous.get("/api/options", headers={"Authorization": "Bearer s3cret-token"})[0] == 200
        assert anonymous.get("/files/library/styles/swirl-0.png")[0] == 401
        # ?token= once on the page sets a cookie and drops the token from the address.
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("GET", "/?token=s3cret-token")
        resp = conn.getresponse()
        assert resp.status == 303 and resp.getheader("location") == "/"
        cookie = resp.getheader("set-cookie").split(";")[0]
        resp.read()
        conn.request("GET", "/api/options", headers={"Cookie": cookie})
        assert conn.getresponse().status == 200


def _long_train(client: Client, name: str) -> dict:
    status, job = client.post("/api/jobs", {"kind": "train", "data": "ring8", "steps": 100000, "name": name})
    assert status == 201, job
    return job


def test_queue_runs_one_job_at_a_time_and_stop_cancel_fail_work(client, studio):
    """A long training (stopped), a job that fails, and a queued job cancelled before it starts."""
    train = _long_train(client, "queue-long")
    failing = client.post("/api/jobs", {"kind": "stylize", "method": "fast", "content": "library/styles/swirl-0.png",
                                         "styles": []})[1]
    cancelled = client.post("/api/jobs", {"kind": "train", "data": "grid25", "steps": 5, "name": "never"})[1]
    assert [failing["state"], cancelled["state"]] == ["queued", "queued"]
    assert client.post(f"/api/jobs/{cancelled['id']}/stop")[1]["state"] == "cancelled"

    running = client.wait_job(train["id"], until=("running",), check=lambda j: (j["progress"] or 0) > 0)
    assert client.get(f"/api/jobs/{failing['id']}")[1]["state"] == "queued"  # one worker: it waits
    client.post(f"/api/jobs/{train['id']}/stop")
    stopped = client.wait_job(train["id"])
    assert stopped["state"] == "stopped" and stopped["error"] is None
    assert 0 < running["progress"] < 1
    run = Path(studio.workdir) / "runs/queue-long"
    assert list((run / "checkpoints").glob("step_*.json")), "Stop must leave a checkpoint"

    failed = client.wait_job(failing["id"])
    assert failed["state"] == "failed"
    assert failed["error"] == ("ganstyle stylize: error: --method fast needs --model MODEL_DIR "
                               "(a model trained with 'ganstyle train-style')")
    assert failed["started"] >= stopped["finished"]
    never = client.get(f"/api/jobs/{cancelled['id']}")[1]
    assert never["state"] == "cancelled" and never["started"] is None
    assert not (Path(studio.workdir) / "runs/never").exists()


def test_server_shutdown_checkpoints_and_the_queue_survives_a_restart(tmp_path):
    with BackgroundStudio(tmp_path, job_env=JOB_ENV) as server:
        client = Client(server.url)
        job = _long_train(client, "shutdown")
        client.wait_job(job["id"], until=("running",), check=lambda j: (j["progress"] or 0) > 0)
    saved = {j["id"]: j for j in json.loads((tmp_path / "studio/jobs.json").read_text())["jobs"]}
    assert saved[job["id"]]["state"] == "stopped"
    run = tmp_path / "runs/shutdown"
    done_steps = sorted(int(p.stem.split("_")[1]) for p in (run / "checkpoints").glob("step_*.json"))
    assert done_steps and done_steps[-1] > 0

    with BackgroundStudio(tmp_path, job_env=JOB_ENV) as server:
        client = Client(server.url)
        assert client.get(f"/api/jobs/{job['id']}")[1]["state"] == "stopped"
        status, runs = client.get("/api/runs")
        assert [r["path"] for r in runs["runs"]] == ["runs/shutdown"]
        target = done_steps[-1] + 10
        resumed = client.post("/api/jobs", {"kind": "resume", "run": "runs/shutdown", "steps": target})[1]
        sampled = client.post("/api/jobs", {"kind": "sample", "run": "runs/shutdown", "n": 16})[1]
        measured = client.post("/api/jobs", {"kind": "eval", "run": "runs/shutdown", "metrics": "modes", "n": 500})[1]
        for job_id in (resumed["id"], sampled["id"], measured["id"]):
            assert client.wait_job(job_id)["state"] == "done", client.get(f"/api/jobs/{job_id}")[1]
        status, detail = client.get("/api/run?path=runs/shutdown")
        assert status == 200 and detail["step"] == target and target in detail["checkpoints"]
        assert sampled["outputs"]["result"] in detail["outputs"] and measured["outputs"]["result"] in detail["outputs"]
        result = json.loads((tmp_path / measured["outputs"]["result"]).read_text())
        assert result["step"] == target
        assert detail["samples"] and detail["plots"] and "data = \"ring8\"" in detail["config"]
