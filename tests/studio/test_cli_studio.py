"""``ganstyle studio``: the install hint without the extra, the token rule for other hosts."""

from __future__ import annotations

import sys

import pytest

from ganstyle.cli import main
from ganstyle.errors import GanstyleError
from ganstyle.studio.server import resolve_token, studio_url


def test_without_the_extra_the_command_prints_the_install_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    assert main(["studio", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("ganstyle studio: error: the studio needs its optional server packages; "
                   "install them with: pip install 'ganstyle[studio]'")


def test_loopback_needs_no_token_but_other_hosts_always_get_one():
    assert resolve_token("127.0.0.1", None) == (None, False)
    token, generated = resolve_token("0.0.0.0", None)
    assert generated and len(token) >= 20
    assert resolve_token("0.0.0.0", None)[0] != token  # fresh each time
    assert resolve_token("192.168.1.5", "my-own-secret") == ("my-own-secret", False)
    with pytest.raises(GanstyleError, match="--token: use at least 8 characters"):
        resolve_token("0.0.0.0", "short")
    assert studio_url("0.0.0.0", 8765, "abc12345") == "http://0.0.0.0:8765/?token=abc12345"
    assert studio_url("::1", 80, None) == "http://[::1]:80/"


def test_bad_limits_and_a_busy_port_are_one_line_errors(capsys):
    pytest.importorskip("uvicorn")
    assert main(["studio", "--max-upload-mb", "0"]) == 2
    assert "--max-upload-mb and --max-pixels must be positive" in capsys.readouterr().err
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["studio", "--port", str(port), "--workdir", "unused"]) == 2
    assert f"--host 127.0.0.1 --port {port}: cannot listen there" in capsys.readouterr().err
