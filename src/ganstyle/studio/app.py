"""The studio's HTTP server: a Starlette app over the job queue, the uploads and the run browser.

Endpoints (all JSON unless noted; errors are ``{"error": "one line"}``):

* ``GET /`` the page, ``GET /static/...`` its script and styles (shipped with the package);
* ``GET /api/options`` menus (methods, backbones, models, losses, data) and upload limits;
* ``GET /api/images`` shipped and uploaded images, uploaded datasets, style models;
* ``POST /api/upload?name=FILE`` the raw file as the body: an image, or a ``.zip`` of images;
* ``GET /api/jobs``, ``POST /api/jobs`` (a job's fields), ``GET /api/jobs/ID``, ``POST /api/jobs/ID/stop``;
* ``GET /api/runs``, ``GET /api/run?path=RUN``;
* ``GET /files/PATH`` any file under the workdir (images, CSV, JSON), nothing outside it.

Safety: with a token every request must carry it (``Authorization: Bearer``, or ``?token=``
once, which sets a cookie); without one, only loopback ``Host`` names are answered (no DNS
rebinding). Every POST needs the ``X-Studio`` header, which a cross-site form cannot send.
"""

from __future__ import annotations

import hmac
import json
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ganstyle import __version__
from ganstyle.errors import GanstyleError
from ganstyle.studio import browse, commands
from ganstyle.studio.files import UploadLimits, safe_path, save_image_upload, save_zip_upload
from ganstyle.studio.jobs import STOP_GRACE_S, JobQueue

STATIC = Path(__file__).parent / "static"
TOKEN_COOKIE = "ganstyle_studio_token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _host_name(header: str) -> str:
    """``Host`` header without the port: ``127.0.0.1:8765`` -> ``127.0.0.1``, ``[::1]:80`` -> ``[::1]``."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0]


class _Guard(BaseHTTPMiddleware):
    """Token / Host check on every request, and the custom header on every POST."""

    def __init__(self, app, token: str | None):
        super().__init__(app)
        self.token = token

    def _token_ok(self, request: Request) -> bool:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip() \
            or request.cookies.get(TOKEN_COOKIE, "") or request.query_params.get("token", "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def dispatch(self, request: Request, call_next):
        if self.token is not None:
            if not self._token_ok(request):
                return _error("missing or wrong studio token; open the URL with ?token=... that 'ganstyle studio' printed", 401)
            if "token" in request.query_params and request.method == "GET" and request.url.path == "/":
                response = RedirectResponse("/", status_code=303)
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
                return response
        else:
            host = _host_name(request.headers.get("host", ""))
            if host not in LOOPBACK_NAMES:
                return _error(f"host {host!r} refused: this studio answers on loopback only (use --host and --token)", 403)
        if request.method == "POST" and request.headers.get("x-studio") != "1":
            return _error("POST requests need the header 'X-Studio: 1'", 403)
        return await call_next(request)


def create_app(workdir: str | Path, *, token: str | None = None, limits: UploadLimits | None = None,
               job_env: dict[str, str] | None = None, stop_grace_s: float = STOP_GRACE_S) -> Starlette:
    """The studio as an ASGI app serving ``workdir``; its job queue starts and stops with the app."""
    workdir = Path(workdir).expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    limits = limits or UploadLimits()
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app):
        await run_in_threadpool(browse.ensure_library, workdir)
        state["queue"] = JobQueue(workdir, live=lambda job: commands.job_live(workdir, job),
                                  env=job_env, stop_grace_s=stop_grace_s)
        try:
            yield
        finally:
            # Server shutdown: the running job gets Ctrl-C and time to checkpoint.
            await run_in_threadpool(state["queue"].close)

    def queue() -> JobQueue:
        return state["queue"]

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def api_options(request: Request) -> Response:
        opts = await run_in_threadpool(commands.options)
        return JSONResponse({**opts, "version": __version__, "token_required": token is not None,
                             "limits": {"max_bytes": limits.max_bytes, "max_pixels": limits.max_pixels}})

    async def api_images(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(browse.image_catalogue, workdir))

    async def api_upload(request: Request) -> Response:
        name = request.query_params.get("name", "")
        if not name:
            return _error("upload: give the file name as ?name=FILE")
        declared = request.headers.get("content-length", "")
        too_big = f"{name}: larger than the upload limit of {limits.max_bytes:,} bytes"
        if declared.isdigit() and int(declared) > limits.max_bytes:
            return _error(too_big, 413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limits.max_bytes:
                return _error(too_big, 413)
        if not body:
            return _error(f"{name}: file is empty")
        save = save_zip_upload if name.lower().endswith(".zip") else save_image_upload
        path = await run_in_threadpool(save, workdir, name, bytes(body), limits)
        return JSONResponse({"path": path.relative_to(workdir).as_posix(), "name": path.name}, status_code=201)

    async def api_jobs(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"jobs": await run_in_threadpool(queue().list)})
        try:
            params = json.loads(await request.body() or b"null")
        except ValueError:
            return _error("job: the body must be JSON")
        kind, argv, outputs = await run_in_threadpool(commands.build_job, workdir, params)
        title = f"{kind} " + (outputs.get("run") or Path(outputs.get("result", "")).name)
        job = queue().submit(kind, argv, params, outputs, title=title)
        return JSONResponse(job, status_code=201)

    async def api_job(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        if request.url.path.endswith("/stop"):
            job = await run_in_threadpool(queue().stop, job_id)
        else:
            job = queue().get(job_id)
        return JSONResponse(job) if job else _error(f"job {job_id}: no such job", 404)

    async def api_runs(request: Request) -> Response:
        def summaries():
            return [browse.run_summary(workdir, run) for run in browse.find_runs(workdir)]
        return JSONResponse({"runs": await run_in_threadpool(summaries)})

    async def api_run(request: Request) -> Response:
        rel = request.query_params.get("path", "")
        return JSONResponse(await run_in_threadpool(browse.run_detail, workdir, rel))

    async def files(request: Request) -> Response:
        path = safe_path(workdir, request.path_params["path"])
        if not path.is_file():
            return _error(f"{request.path_params['path']}: not a file", 404)
        return FileResponse(path, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    routes = [
        Route("/", index),
        Route("/api/options", api_options),
        Route("/api/images", api_images),
        Route("/api/upload", api_upload, methods=["POST"]),
        Route("/api/jobs", api_jobs, methods=["GET", "POST"]),
        Route("/api/jobs/{job_id}", api_job),
        Route("/api/jobs/{job_id}/stop", api_job, methods=["POST"]),
        Route("/api/runs", api_runs),
        Route("/api/run", api_run),
        Route("/files/{path:path}", files),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    async def user_error(request: Request, exc: GanstyleError) -> Response:  # a bad field or path: one line
        return _error(str(exc))

    return Starlette(routes=routes, middleware=[Middleware(_Guard, token=token)], lifespan=lifespan,
                     exception_handlers={GanstyleError: user_error})
