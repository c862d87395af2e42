"""The run-directory helper on its own: create/resume rules, pruning, fallback, logs, NaN guard."""

import json

import pytest
import torch

from ganstyle.errors import GanstyleError
from ganstyle.io.rundir import NonFiniteError, RunDir
from ganstyle.io.runlog import read_csv


def _save(run: RunDir, step: int) -> None:
    run.save_checkpoint(step, {"w": torch.full((3,), float(step))}, {"note": "x"})


def _corrupt(run: RunDir, step: int) -> None:
    """Same size, different bytes: only the checksum can tell."""
    path = run.checkpoints / f"step_{step:08d}.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_new_run_refuses_a_used_directory(tmp_path):
    logs_only = tmp_path / "logs_only"
    logs_only.mkdir()
    (logs_only / "metrics.csv").write_text("step,d_loss\n50,1.0\n")
    with pytest.raises(GanstyleError, match=r"holds logs of an earlier run \(metrics.csv\) but no checkpoint"):
        RunDir.open(logs_only)
    with_ckpt = RunDir.open(tmp_path / "run")
    _save(with_ckpt, 1)
    with pytest.raises(GanstyleError, match=r"already holds a run; continue it with --resume"):
        RunDir.open(tmp_path / "run")
    (tmp_path / "file").write_text("x")
    with pytest.raises(GanstyleError, match=r"--out .*file: is a file"):
        RunDir.open(tmp_path / "file")
    with pytest.raises(GanstyleError, match=r"--resume .*nowhere: no such run directory"):
        RunDir.open(tmp_path / "nowhere", resume=True)
    with pytest.raises(GanstyleError, match=r"not a run directory \(no config.toml\)"):
        RunDir.open(logs_only, resume=True)


def test_pruning_keeps_the_newest_good_checkpoint_behind_a_bad_one(tmp_path):
    run = RunDir(tmp_path, keep_checkpoints=1)
    for step in (1, 2):
        _save(run, step)
    assert run.checkpoint_steps() == [2]
    run = RunDir(tmp_path / "b", keep_checkpoints=1)
    _save(run, 1)
    run.keep_checkpoints = 0  # keep all while setting up
    _save(run, 2)
    _corrupt(run, 2)
    run.keep_checkpoints = 1
    run.prune()
    assert run.checkpoint_steps() == [1, 2]
    assert run.latest_good_checkpoint().name == "step_00000001"


def test_load_latest_falls_back_with_a_notice(tmp_path):
    run = RunDir(tmp_path, keep_checkpoints=0)
    for step in (1, 2, 3):
        _save(run, step)
    _corrupt(run, 3)
    (run.checkpoints / "step_00000002.json").write_text("{not json")
    notices = []
    tensors, state, stem = run.load_latest(notice=notices.append)
    assert state["step"] == 1 and torch.equal(tensors["w"], torch.full((3,), 1.0))
    assert len(notices) == 2
    assert notices[0].startswith("skipping checkpoint step_00000003: ") and "checksum" in notices[0]
    assert notices[1].startswith("skipping checkpoint step_00000002: ")


def test_logs_truncate_to_the_resumed_step(tmp_path):
    run = RunDir(tmp_path)
    for step in (5, 10, 15):
        run.log({"step": step, "loss": step / 10})
    run.evaluate(10, lambda: {"fid": 3.0})
    run.truncate_logs(10)
    assert [r["step"] for r in read_csv(tmp_path / "metrics.csv")] == ["5", "10", "10"]
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert records == [{"step": 5, "loss": 0.5}, {"step": 10, "loss": 1.0}, {"eval": {"step": 10, "fid": 3.0}}]


def test_check_finite_names_the_last_good_checkpoint(tmp_path):
    run = RunDir(tmp_path)
    with pytest.raises(NonFiniteError, match="g_loss became inf by step 3; no checkpoint had been saved yet"):
        run.check_finite({"d_loss": 1.0, "g_loss": float("inf")}, 3)
    _save(run, 4)
    with pytest.raises(NonFiniteError, match=r"d_loss became nan by step 6; the last good checkpoint is .*step_00000004 \(lower"):
        run.check_finite({"d_loss": float("nan")}, 6, hint="lower the lr")
