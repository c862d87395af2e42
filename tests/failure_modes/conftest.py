"""Shared helpers for the failure-mode corpus: one table file per area, one row per case.

A row names what to break and what the user must see: the exit code and a fragment of
the one line ganstyle prints. Helpers here run the CLI in-process and check that line.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import pytest

from ganstyle.cli import main


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The ``ganstyle CMD: error: ...`` line (empty when there is none)."""
        lines = [line for line in self.err.splitlines() if ": error: " in line]
        return lines[-1] if lines else ""


@pytest.fixture
def run_cli(capsys):
    """``run_cli(argv) -> CliResult``: ``ganstyle.cli.main(argv)`` with its exit code and captured output."""

    def run(argv) -> CliResult:
        capsys.readouterr()  # drop anything printed before
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def assert_one_line_error(result: CliResult, fragment: str, code: int = 2) -> None:
    """Exit ``code`` with exactly one error line that contains ``fragment``, and no traceback."""
    assert result.code == code, (result.code, result.err)
    assert "Traceback" not in result.err, result.err
    assert sum(": error: " in line for line in result.err.splitlines()) == 1, result.err
    assert fragment in result.error_line, result.error_line


@pytest.fixture(scope="session")
def _trained_ring_run(tmp_path_factory):
    from ganstyle.gan.trainer import TrainConfig, train_gan

    cfg = TrainConfig(data="ring8", data_n=512, model="mlp", latent_dim=4, g_width=16, d_width=16, depth=2,
                      batch_size=32, steps=15, log_every=5, sample_every=0, ckpt_every=5, keep_checkpoints=0,
                      device="cpu", precision="fp32")
    return train_gan(cfg, out=tmp_path_factory.mktemp("ring") / "run", progress=False)


@pytest.fixture
def gan_run(_trained_ring_run, tmp_path):
    """A fresh copy of a tiny trained 2-D GAN run with checkpoints at steps 5, 10 and 15."""
    return shutil.copytree(_trained_ring_run, tmp_path / "run")
