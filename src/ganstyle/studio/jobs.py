"""A one-worker job queue whose jobs are ``ganstyle`` CLI commands run as child processes.

Each job is a record in ``<workdir>/studio/jobs.json`` (rewritten atomically on every
change), so the list survives a page reload and a server restart; queued jobs run after a
restart. A job's argv is built by :mod:`ganstyle.studio.requests` from validated fields
only. Stopping a job sends SIGINT, the CLI's Ctrl-C: the GAN trainer saves a checkpoint
and exits 130. A failed job's error is the last line the CLI printed on stderr, which is
its one-line ``ganstyle CMD: error: ...`` message.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from ganstyle.io.images import atomic_write_text

STATES = ("queued", "running", "done", "failed", "stopped", "cancelled")
FINISHED = ("done", "failed", "stopped", "cancelled")
INTERRUPTED_CODES = (130, 143, -signal.SIGINT, -signal.SIGTERM)
# Seconds a stopped child gets to checkpoint before a second SIGINT, then SIGKILL.
STOP_GRACE_S = 60.0


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


class JobQueue:
    """Run jobs one at a time in a background thread.

    ``live(job) -> dict`` adds fields read from a running job's outputs (``progress`` in
    [0, 1], ``preview`` image); ``env`` is added to the children's environment.
    """

    def __init__(self, workdir: Path, *, live: Callable[[dict], dict] | None = None,
                 env: dict[str, str] | None = None, stop_grace_s: float = STOP_GRACE_S):
        self.workdir = Path(workdir)
        self.state_dir = self.workdir / "studio"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.state_dir / "jobs.json"
        self._live = live
        self._env = dict(env or {})
        self._grace = stop_grace_s
        self._lock = threading.Condition()
        self._jobs: list[dict[str, Any]] = self._load()
        self._child: subprocess.Popen | None = None
        self._stop_requested: set[str] = set()
        self._closing = False
        self._thread = threading.Thread(target=self._work, name="ganstyle-studio-jobs", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ persistence

    def _load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        try:
            jobs = json.loads(self.path.read_text())["jobs"]
        except (OSError, ValueError, KeyError, TypeError):
            broken = self.path.with_suffix(".json.broken")
            self.path.replace(broken)
            print(f"ganstyle studio: {self.path} was unreadable; moved it to {broken.name} and started a new job list",
                  file=sys.stderr)
            return []
        died = [job for job in jobs if job.get("state") == "running"]  # the server died under them
        for job in died:
            job.update(state="failed", finished=time.time(), error="the studio server stopped while this job was running")
        if died:
            atomic_write_text(self.path, json.dumps({"jobs": jobs}, indent=1) + "\n")
        return jobs

    def _save(self) -> None:
        atomic_write_text(self.path, json.dumps({"jobs": self._jobs}, indent=1) + "\n")

    # ------------------------------------------------------------ public API

    def submit(self, kind: str, argv: list[str], params: dict[str, Any], outputs: dict[str, str],
               title: str = "") -> dict[str, Any]:
        job = {
            "id": uuid.uuid4().hex[:12], "kind": kind, "title": title or kind, "params": params,
            "argv": list(argv), "outputs": outputs, "state": "queued", "created": time.time(),
            "started": None, "finished": None, "returncode": None, "error": None, "message": None,
        }
        job["log"] = f"studio/logs/{job['id']}.log"
        with self._lock:
            self._jobs.append(job)
            self._save()
            self._lock.notify_all()
        return dict(job)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            jobs = [dict(j) for j in self._jobs]
        for job in jobs:
            job.update(self._live_fields(job))
        return jobs

    def get(self, job_id: str) -> dict[str, Any] | None:
        return next((j for j in self.list() if j["id"] == job_id), None)

    def stop(self, job_id: str) -> dict[str, Any] | None:
        """Cancel a queued job or stop the running one (SIGINT: checkpoint, then exit)."""
        with self._lock:
            job = next((j for j in self._jobs if j["id"] == job_id), None)
            if job is None:
                return None
            if job["state"] == "queued":
                job.update(state="cancelled", finished=time.time())
                self._save()
            elif job["state"] == "running":
                # Recorded even if the child is still being started: _run signals it once it exists.
                self._stop_requested.add(job_id)
                self._signal_child(signal.SIGINT)
        return self.get(job_id)

    def close(self, timeout: float | None = None) -> None:
        """Stop the running job cleanly (it checkpoints) and end the worker; queued jobs stay queued."""
        with self._lock:
            self._closing = True
            running = next((j for j in self._jobs if j["state"] == "running"), None)
            if running is not None:
                self._stop_requested.add(running["id"])
                self._signal_child(signal.SIGINT)
            self._lock.notify_all()
        self._thread.join(timeout if timeout is not None else self._grace + 15)

    # ------------------------------------------------------------ worker

    def _live_fields(self, job: dict[str, Any]) -> dict[str, Any]:
        if job["state"] == "done":
            return {"progress": 1.0}
        if job["state"] != "running" or self._live is None:
            return {"progress": None}
        try:
            return {"progress": None, **self._live(job)}
        except (OSError, ValueError, KeyError):  # outputs half-written: no figure this time
            return {"progress": None}

    def _signal_child(self, signum: int) -> None:
        child = self._child
        if child is not None and child.poll() is None:
            try:
                child.send_signal(signum)
            except ProcessLookupError:
                pass

    def _next(self) -> dict[str, Any] | None:
        with self._lock:
            while not self._closing:
                job = next((j for j in self._jobs if j["state"] == "queued"), None)
                if job is not None:
                    job.update(state="running", started=time.time())
                    self._save()
                    return job
                self._lock.wait(1.0)
        return None

    def _work(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            self._run(job)

    def _run(self, job: dict[str, Any]) -> None:
        log_path = self.workdir / job["log"]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self._env}
        with open(log_path, "wb") as log:
            try:
                # Own session: a Ctrl-C in the server's terminal reaches the child only through close().
                child = subprocess.Popen([sys.executable, "-m", "ganstyle", *job["argv"]], cwd=self.workdir,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.PIPE,
                                         env=env, start_new_session=True)
            except OSError as exc:
                self._finish(job, 1, f"could not start the job: {exc}")
                return
            with self._lock:
                self._child = child
                if self._closing or job["id"] in self._stop_requested:
                    self._signal_child(signal.SIGINT)
            stderr = self._wait(child, job["id"])
            log.write(b"\n--- stderr ---\n" + stderr)
        self._finish(job, child.returncode, stderr.decode("utf-8", "replace"))

    def _wait(self, child: subprocess.Popen, job_id: str) -> bytes:
        """Collect stderr; once a stop was asked for, escalate if the child outlives the grace period."""
        chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: chunks.append(child.stderr.read()), daemon=True)
        reader.start()
        stop_seen = None
        while child.poll() is None:
            time.sleep(0.2)
            if job_id in self._stop_requested:
                stop_seen = stop_seen or time.monotonic()
                waited = time.monotonic() - stop_seen
                if waited > self._grace + 10:
                    child.kill()
                elif waited > self._grace:
                    self._signal_child(signal.SIGINT)  # a second Ctrl-C interrupts at once
        reader.join(10)
        return b"".join(chunks)

    def _finish(self, job: dict[str, Any], returncode: int, stderr: str) -> None:
        with self._lock:
            self._child = None
            stopped = job["id"] in self._stop_requested
            self._stop_requested.discard(job["id"])
            message = last_line(stderr)
            if returncode == 0:
                state, error = "done", None
            elif stopped and (returncode in INTERRUPTED_CODES or returncode < 0):
                state, error = "stopped", None
            else:
                state, error = "failed", message or f"exited with status {returncode}"
            job.update(state=state, finished=time.time(), returncode=returncode, error=error, message=message)
            self._save()
