"""Failure modes of ``ganstyle studio``: one row per case, (argv, exit code, message fragment)."""

from __future__ import annotations

import pytest

from ganstyle.cli import main

pytest.importorskip("uvicorn")

CASES = [
    (["studio", "--max-upload-mb", "-1"], 2, "--max-upload-mb and --max-pixels must be positive"),
    (["studio", "--max-pixels", "0"], 2, "--max-upload-mb and --max-pixels must be positive"),
    (["studio", "--host", "0.0.0.0", "--token", "short"], 2, "--token: use at least 8 characters"),
    (["studio", "--port", "70000"], 2, "--port 70000: must be from 0 to 65535"),
    (["studio", "--host", "192.0.2.1", "--token", "long-enough"], 2, "--host 192.0.2.1 --port 8765: cannot listen there"),
]


def run_cli(argv, capsys):
    code = main(argv)
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("argv, code, fragment", CASES)
def test_studio_failure_modes(argv, code, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    got, err = run_cli(argv, capsys)
    assert got == code and fragment in err and len(err.splitlines()) == 1, err
