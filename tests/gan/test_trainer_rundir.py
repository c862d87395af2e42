"""The GAN trainer on the run-directory helper: signals, programmatic stop, evaluation, TensorBoard."""

import json
import os
import signal
import threading
import time

import pytest
import torch

from ganstyle.cli import main
from ganstyle.errors import GanstyleError
from ganstyle.gan.trainer import GANTrainer, TrainConfig, train_gan
from ganstyle.io.checkpoints import list_checkpoints
from ganstyle.io.rundir import RunDir, RunInterrupted


def _interrupt_at(trainer: GANTrainer, step: int, action) -> None:
    g_step = trainer.g_step

    def g_step_then_act():
        g_step()
        if trainer.step + 1 == step:  # the step counter increments right after g_step
            action()

    trainer.g_step = g_step_then_act


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_checkpoints_prints_resume_command_and_exits(signum, code, tiny_mlp_cfg, tmp_path, capsys):
    trainer = GANTrainer(tiny_mlp_cfg, tmp_path / "run")
    _interrupt_at(trainer, 7, lambda: os.kill(os.getpid(), signum))
    with pytest.raises(RunInterrupted) as info:
        trainer.train(progress=False)
    assert info.value.exit_code == code
    assert [s for s, _ in list_checkpoints(tmp_path / "run" / "checkpoints")] == [7]
    err = capsys.readouterr().err
    assert f"stopped at step 7 ({signal.Signals(signum).name}); checkpoint saved; " \
           f"continue with: ganstyle train --resume {tmp_path / 'run'}" in err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


def test_cli_exit_code_for_sigterm(tmp_path, monkeypatch, capsys):
    from ganstyle.gan import trainer as trainer_module

    real_g_step = trainer_module.GANTrainer.g_step

    def g_step(self):
        real_g_step(self)
        if self.step == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(trainer_module.GANTrainer, "g_step", g_step)
    run = tmp_path / "run"
    argv = ["train", "--data", "ring8", "--data-n", "500", "--g-width", "16", "--d-width", "16", "--steps", "50",
            "--device", "cpu", "--no-progress", "--out", str(run)]
    assert main(argv) == 143
    assert "ganstyle train: interrupted" in capsys.readouterr().err
    assert [s for s, _ in list_checkpoints(run / "checkpoints")] == [3]


def test_request_stop_from_another_thread_checkpoints_and_returns(tiny_mlp_cfg, tmp_path):
    cfg = TrainConfig(**{**vars(tiny_mlp_cfg), "steps": 10**6, "ckpt_every": 0})
    run = RunDir.open(tmp_path / "run")
    trainer = GANTrainer(cfg, run)
    done = {}
    worker = threading.Thread(target=lambda: done.setdefault("result", trainer.train(progress=False)))
    worker.start()
    deadline = time.monotonic() + 60
    while not (tmp_path / "run" / "metrics.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    run.request_stop()
    worker.join(60)
    assert not worker.is_alive() and done["result"] == tmp_path / "run"
    (step, _), = list_checkpoints(tmp_path / "run" / "checkpoints")
    assert step == trainer.step and 5 <= step < 10**6


def test_failing_evaluation_is_logged_and_skipped_after_a_checkpoint(tiny_mlp_cfg, tmp_path, monkeypatch, capsys):
    from ganstyle.metrics import evaluate

    def broken(*args, **kwargs):
        raise RuntimeError("weights vanished")

    monkeypatch.setattr(evaluate, "evaluate_generator", broken)
    cfg = TrainConfig(**{**vars(tiny_mlp_cfg), "eval_every": 7, "eval_metrics": "modes", "ckpt_every": 0,
                         "keep_checkpoints": 0})
    run = train_gan(cfg, out=tmp_path / "run", progress=False)
    assert [s for s, _ in list_checkpoints(run / "checkpoints")] == [7, 14, 20]
    assert "evaluation at step 7 failed, training continues: weights vanished" in capsys.readouterr().err
    errors = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if "eval_error" in line]
    assert [e["eval_error"]["step"] for e in errors] == [7, 14, 20]


def test_eval_settings_are_checked_before_step_one(tiny_mlp_cfg, tmp_path):
    with pytest.raises(GanstyleError, match="--eval-every needs --eval-metrics"):
        train_gan(TrainConfig(**{**vars(tiny_mlp_cfg), "eval_every": 5}), out=tmp_path / "a", progress=False)
    with pytest.raises(GanstyleError, match="--eval-metrics: unknown metric"):
        train_gan(TrainConfig(**{**vars(tiny_mlp_cfg), "eval_every": 5, "eval_metrics": "fdi"}), out=tmp_path / "b",
                  progress=False)
    assert not (tmp_path / "a" / "checkpoints").exists() and not (tmp_path / "b" / "checkpoints").exists()


def test_missing_inception_weights_refused_before_training(tmp_path, monkeypatch):
    from ganstyle.data import Dataset
    from ganstyle.metrics.evaluate import check_metrics

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv("GANSTYLE_INCEPTION_WEIGHTS", raising=False)
    images = Dataset(name="folder", x=torch.zeros(4, 3, 8, 8))
    with pytest.raises(GanstyleError, match=r"^--eval-metrics fid,kid: Inception weights for FID not found"):
        check_metrics("fid,kid", images, flag="--eval-metrics", download=False)


def test_tensorboard_events(tiny_dcgan_cfg, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = TrainConfig(**{**vars(tiny_dcgan_cfg), "tensorboard": True, "sample_every": 3, "precision": "fp32"})
    run = train_gan(cfg, out=tmp_path / "run", progress=False)
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    tags = events.Tags()
    assert {"d_loss", "g_loss"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("g_loss")] == [2, 4, 6]
    assert tags["images"] == ["samples"] and [e.step for e in events.Images("samples")] == [3, 6]
