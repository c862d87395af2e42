"""The job list on disk: what a restart finds, and a broken file."""

from __future__ import annotations

import json

from ganstyle.studio.jobs import JobQueue, last_line


def _job(job_id: str, state: str) -> dict:
    return {"id": job_id, "kind": "train", "title": job_id, "params": {}, "argv": ["train"], "outputs": {},
            "state": state, "created": 1.0, "started": 2.0 if state != "queued" else None, "finished": None,
            "returncode": None, "error": None, "message": None, "log": f"studio/logs/{job_id}.log"}


def test_a_job_running_when_the_server_died_is_reported_failed(tmp_path):
    (tmp_path / "studio").mkdir()
    jobs = [_job("was-running", "running"), _job("finished", "done"), _job("dropped", "cancelled")]
    (tmp_path / "studio/jobs.json").write_text(json.dumps({"jobs": jobs}))
    queue = JobQueue(tmp_path)
    try:
        listed = {j["id"]: j for j in queue.list()}
        assert listed["was-running"]["state"] == "failed"
        assert listed["was-running"]["error"] == "the studio server stopped while this job was running"
        assert listed["finished"]["state"] == "done" and listed["finished"]["progress"] == 1.0
        assert listed["dropped"]["state"] == "cancelled"
    finally:
        queue.close()
    # The correction is written back, so the next restart does not re-judge it.
    assert json.loads((tmp_path / "studio/jobs.json").read_text())["jobs"][0]["state"] == "failed"


def test_a_broken_job_list_is_kept_aside_and_a_new_one_started(tmp_path, capsys):
    (tmp_path / "studio").mkdir()
    (tmp_path / "studio/jobs.json").write_text("{not json")
    queue = JobQueue(tmp_path)
    try:
        assert queue.list() == []
        assert queue.stop("nothing") is None
    finally:
        queue.close()
    assert (tmp_path / "studio/jobs.json.broken").read_text() == "{not json"
    assert "moved it to jobs.json.broken" in capsys.readouterr().err


def test_last_line_is_the_clis_message_even_after_progress_bars():
    stderr = "step 1\rstep 2\rstep 3\n\nganstyle train: error: --data: unknown dataset 'x'\n\n"
    assert last_line(stderr) == "ganstyle train: error: --data: unknown dataset 'x'"
    assert last_line("") == ""
