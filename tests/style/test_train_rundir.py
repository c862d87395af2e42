"""The style trainer on the shared run directory: SIGINT/SIGTERM, NaN, the --resume forms, metrics.jsonl."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch
from safetensors.torch import load_file

from ganstyle.cli import main
from ganstyle.io.checkpoints import list_checkpoints
from ganstyle.io.images import save_image
from ganstyle.io.checkpoints import checkpoint_verifies
from ganstyle.style import train
from ganstyle.style.methods.fast import FastObjective

from .conftest import make_content, make_style


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("style_run_data")
    (tmp / "content").mkdir()
    for i in range(3):
        save_image(make_content(40).roll(7 * i, -1), tmp / "content" / f"c{i}.png")
    save_image(make_style(48), tmp / "style.png")
    return tmp


def argv(data, *extra) -> list[str]:
    return ["train-style", "--method", "fast", "--style", str(data / "style.png"), "--content-dir",
            str(data / "content"), "--backbone", "random", "--steps", "6", "--batch-size", "2", "--image-size", "32",
            "--style-size", "48", "--width", "8", "--res-blocks", "1", "--log-every", "1", "--sample-every", "0",
            "--ckpt-every", "0", "--device", "cpu", "--precision", "fp32", *map(str, extra)]


def act_on_sample_call(monkeypatch, call: int, action) -> None:
    """Run ``action`` while the trainer draws the batch of step ``call`` (that step still completes)."""
    sample, calls = train.ImageSource.sample, []

    def counting(self, n, gen):
        calls.append(1)
        if len(calls) == call:
            action()
        return sample(self, n, gen)

    monkeypatch.setattr(train.ImageSource, "sample", counting)


@pytest.mark.parametrize("signum, code, old_form", [(signal.SIGINT, 130, False), (signal.SIGTERM, 143, True)])
def test_signal_checkpoints_then_resume_equals_straight_run(data, tmp_path, capsys, monkeypatch, signum, code,
                                                            old_form):
    run = tmp_path / "run"
    with monkeypatch.context() as m:
        act_on_sample_call(m, 4, lambda: os.kill(os.getpid(), signum))
        assert main(argv(data, "--out", run)) == code
    err = capsys.readouterr().err
    assert (f"stopped at step 4 ({signal.Signals(signum).name}); checkpoint saved; "
            f"continue with: ganstyle train-style --resume {run}") in err
    assert [s for s, _ in list_checkpoints(run / "checkpoints")] == [4]
    assert not (run / "final.json").exists()

    resume = ["--out", run, "--resume"] if old_form else ["--resume", run]
    assert main(["train-style", *map(str, resume)]) == 0
    err = capsys.readouterr().err
    assert ("'--out DIR --resume' is deprecated" in err) == old_form
    assert main(argv(data, "--out", tmp_path / "straight")) == 0
    a, b = load_file(tmp_path / "straight" / "final.safetensors"), load_file(run / "final.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    straight = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r["total"] for r in rows] == [r["total"] for r in straight]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(data, tmp_path, capsys, monkeypatch):
    losses, calls = FastObjective.losses, []

    def nan_at_step_5(self, content, style=None):
        out = losses(self, content, style)
        calls.append(1)
        if len(calls) == 5:
            out["total"] = out["total"] * float("nan")
        return out

    monkeypatch.setattr(FastObjective, "losses", nan_at_step_5)
    run = tmp_path / "run"
    assert main(argv(data, "--out", run, "--ckpt-every", "2")) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "training diverged: total became nan by step 5" in err and "step_00000004" in err
    ckpts = list_checkpoints(run / "checkpoints")
    assert [s for s, _ in ckpts] == [2, 4] and checkpoint_verifies(ckpts[-1][1])
    assert not (run / "final.json").exists()


def test_resume_flag_errors_and_old_checkpoint_every(data, tmp_path, capsys):
    assert main(["train-style", "--resume", str(tmp_path / "nowhere")]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train-style", "--resume"]) == 2
    assert "give the run directory" in capsys.readouterr().err
    run = tmp_path / "run"
    assert main(argv(data, "--out", run, "--steps", "2", "--checkpoint-every", "1")) == 0
    assert "--checkpoint-every is deprecated; use --ckpt-every" in capsys.readouterr().err
    assert [s for s, _ in list_checkpoints(run / "checkpoints")] == [1, 2]


def test_tensorboard_event_files(data, tmp_path):
    pytest.importorskip("tensorboard")
    run = tmp_path / "run"
    assert main(argv(data, "--out", run, "--steps", "2", "--tensorboard")) == 0
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))


def test_model_dirs_of_the_previous_release_still_load_and_resume(data, tmp_path):
    from ganstyle.style.methods.fast import FAST

    run = tmp_path / "run"
    assert main(argv(data, "--out", run, "--steps", "2", "--ckpt-every", "1")) == 0
    config = (run / "config.toml").read_text()
    assert "ckpt_every = 1" in config
    (run / "config.toml").write_text(config.replace("ckpt_every = 1", "checkpoint_every = 1\nresume = false"))
    assert FAST.load(run).step == 2
    assert main(["train-style", "--resume", str(run), "--steps", "3"]) == 0
    assert [s for s, _ in list_checkpoints(run / "checkpoints")] == [1, 2, 3]
