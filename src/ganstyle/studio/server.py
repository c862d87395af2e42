"""Start the studio: :func:`serve` for the command line, :class:`BackgroundStudio` for tests and scripts."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from pathlib import Path

from ganstyle.errors import GanstyleError
from ganstyle.studio.files import UploadLimits

INSTALL_LINE = "pip install 'ganstyle[studio]'"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def require_server_packages() -> None:
    """Raise the one-line install hint when the optional server packages are missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise GanstyleError(f"the studio needs its optional server packages; install them with: {INSTALL_LINE}") from None


def resolve_token(host: str, token: str | None) -> tuple[str | None, bool]:
    """(token to enforce, whether it was generated). Loopback needs none; any other host always has one."""
    if token is not None:
        if len(token) < 8:
            raise GanstyleError("--token: use at least 8 characters")
        return token, False
    if host in LOOPBACK_HOSTS:
        return None, False
    return secrets.token_urlsafe(18), True


def studio_url(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise GanstyleError(f"--host {host} --port {port}: cannot listen there ({exc.strerror}); choose another --port") from None
    sock.listen(64)
    return sock


def _server(app, sock: socket.socket):
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def serve(workdir: str | Path = "studio", host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
          limits: UploadLimits | None = None) -> None:
    """Run the studio until Ctrl-C; a running job is stopped with a checkpoint first."""
    require_server_packages()
    from ganstyle.studio.app import create_app

    token, generated = resolve_token(host, token)
    sock = _bind(host, port)
    port = sock.getsockname()[1]
    app = create_app(workdir, token=token, limits=limits)
    print(f"ganstyle studio: serving {Path(workdir).resolve()} at {studio_url(host, port, token)}", flush=True)
    if generated:
        print(f"ganstyle studio: generated token {token} (pass --token to choose one); requests without it are refused",
              flush=True)
    print("ganstyle studio: Ctrl-C stops the server (a running job saves a checkpoint first)", flush=True)
    try:
        _server(app, sock).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C once it has shut down cleanly
        pass
    print("ganstyle studio: stopped", flush=True)


class BackgroundStudio:
    """The studio on a free loopback port in a thread: ``with BackgroundStudio(dir) as s: s.url``."""

    def __init__(self, workdir: str | Path, *, token: str | None = None, limits: UploadLimits | None = None,
                 job_env: dict[str, str] | None = None, stop_grace_s: float = 60.0):
        require_server_packages()
        from ganstyle.studio.app import create_app

        self.workdir = Path(workdir)
        self._sock = _bind("127.0.0.1", 0)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(workdir, token=token, limits=limits, job_env=job_env, stop_grace_s=stop_grace_s)
        self._server = _server(app, self._sock)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def __enter__(self) -> "BackgroundStudio":
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the studio server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(120)
        self._sock.close()
