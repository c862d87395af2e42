import json
import math
import os
import signal
import sys
import types

import numpy as np
import pytest
import torch

from ganstyle.errors import GanstyleError
from ganstyle.gan.losses import GANLoss, get_loss
from ganstyle.gan.sampling import load_generator, sample
from ganstyle.gan.trainer import GANTrainer, TrainConfig, train_gan
from ganstyle.io.checkpoints import latest_checkpoint, list_checkpoints, load_checkpoint
from ganstyle.io.runlog import read_csv


def _final_tensors(run):
    tensors, state = load_checkpoint(latest_checkpoint(run / "checkpoints"))
    return tensors, state


@pytest.mark.parametrize("cfg_name", ["tiny_mlp_cfg", "tiny_dcgan_cfg"])
def test_resume_is_bit_exact(cfg_name, request, tmp_path):
    cfg = request.getfixturevalue(cfg_name)
    n = cfg.steps
    straight = train_gan(TrainConfig(**{**vars(cfg), "steps": 2 * n}), out=tmp_path / "straight", progress=False)
    half = train_gan(cfg, out=tmp_path / "resumed", progress=False)
    assert _final_tensors(half)[1]["step"] == n
    resumed = train_gan(resume=half, steps=2 * n, progress=False)
    (a, sa), (b, sb) = _final_tensors(straight), _final_tensors(resumed)
    assert sa["step"] == sb["step"] == 2 * n
    assert a.keys() == b.keys()
    assert any(k.startswith("G_ema.") for k in a) and any(k.startswith("D.") for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    for opt in ("optim_G", "optim_D"):
        for pid, st in sa[opt]["state"].items():
            assert torch.equal(st["exp_avg_sq"], sb[opt]["state"][pid]["exp_avg_sq"])
    # the loss history of the resumed run continues where it stopped
    steps = [int(r["step"]) for r in read_csv(resumed / "metrics.csv")]
    assert steps == sorted(set(steps)) and steps[-1] == 2 * n
    logged = [json.loads(line)["step"] for line in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert logged == steps


def test_checkpoint_round_trip_and_pruning(tiny_mlp_cfg, tmp_path):
    cfg = TrainConfig(**{**vars(tiny_mlp_cfg), "steps": 40, "ckpt_every": 10, "keep_checkpoints": 2})
    run = train_gan(cfg, out=tmp_path / "run", progress=False)
    assert [s for s, _ in list_checkpoints(run / "checkpoints")] == [30, 40]
    tensors, state = _final_tensors(run)
    assert {k.split(".")[0] for k in tensors} == {"G", "D", "G_ema"}
    g = load_generator(run)
    assert g.step == 40 and g.latent_dim == 4 and g.data_shape == (2,) and g.config.g_width == 32
    for k, v in g.generator.state_dict().items():
        assert torch.equal(v, tensors["G_ema." + k])
    a, b = g.generate(100, seed=3), g.generate(100, seed=3)
    assert a.shape == (100, 2) and a.dtype == torch.float32 and torch.equal(a, b)
    assert not torch.equal(a, g.generate(100, seed=4))
    # a checkpoint file works as well as the run dir
    older = load_generator(run / "checkpoints" / "step_00000030.json")
    assert older.step == 30


def test_ring8_training_learns(tmp_path):
    """D loss drops below log 4 (D wins early), then samples move onto the ring."""
    cfg = TrainConfig(data="ring8", data_n=5000, model="mlp", steps=400, log_every=20, sample_every=0,
                      ckpt_every=0, device="cpu", batch_size=128, g_width=64, d_width=64, depth=2, ema_decay=0.0,
                      r1_gamma=1.0)
    trainer = GANTrainer(cfg, tmp_path / "run")
    before = trainer.generate(500)
    trainer.train(progress=False)
    rows = read_csv(tmp_path / "run" / "metrics.csv")
    d = [float(r["d_loss"]) for r in rows]
    assert min(d[:5]) < math.log(4)
    radius = lambda x: (x.norm(dim=1) - 1).abs().mean().item()  # noqa: E731
    after = trainer.generate(500)
    assert radius(after) < 0.5 * radius(before)
    assert (tmp_path / "run" / "losses.png").stat().st_size > 1000
    assert (tmp_path / "run" / "samples" / "step_00000400.png").exists()


def test_nan_stops_and_keeps_last_good_checkpoint(tiny_mlp_cfg, tmp_path, monkeypatch):
    real_loss = get_loss("ns")
    holder = {}

    def poisoned_d_loss(real, fake):
        out = real_loss.d_loss(real, fake)
        return out * float("nan") if holder["trainer"].step >= 12 else out

    trainer = GANTrainer(tiny_mlp_cfg, tmp_path / "run")
    holder["trainer"] = trainer
    trainer.loss = GANLoss(poisoned_d_loss, real_loss.g_loss)
    with pytest.raises(GanstyleError, match=r"diverged: d_loss became nan by step 15; the last good checkpoint is .*step_00000010"):
        trainer.train(progress=False)
    assert [s for s, _ in list_checkpoints(tmp_path / "run" / "checkpoints")] == [10]
    tensors, _ = load_checkpoint(latest_checkpoint(tmp_path / "run" / "checkpoints"))
    assert all(torch.isfinite(v).all() for v in tensors.values())


def test_ctrl_c_checkpoints_then_stops(tiny_mlp_cfg, tmp_path, monkeypatch):
    trainer = GANTrainer(tiny_mlp_cfg, tmp_path / "run")
    g_step = trainer.g_step

    def interrupting_g_step():
        g_step()
        if trainer.step == 6:  # the step counter increments right after g_step
            os.kill(os.getpid(), signal.SIGINT)

    trainer.g_step = interrupting_g_step
    with pytest.raises(KeyboardInterrupt):
        trainer.train(progress=False)
    assert trainer.step == 7
    assert [s for s, _ in list_checkpoints(tmp_path / "run" / "checkpoints")] == [7]


def test_bf16_training_runs(tiny_dcgan_cfg, tmp_path):
    cfg = TrainConfig(**{**vars(tiny_dcgan_cfg), "precision": "bf16", "image_size": 16})
    trainer = GANTrainer(cfg, tmp_path / "run")
    trainer.train(progress=False)
    rows = read_csv(tmp_path / "run" / "metrics.csv")
    assert all(math.isfinite(float(r["d_loss"])) for r in rows)
    assert all(p.dtype == torch.float32 for p in trainer.G.parameters())
    assert load_generator(tmp_path / "run").generate(4).shape == (4, 1, 16, 16)


def test_fp16_refused_on_cpu(tiny_mlp_cfg, tmp_path):
    with pytest.raises(GanstyleError, match="fp16 needs a CUDA"):
        GANTrainer(TrainConfig(**{**vars(tiny_mlp_cfg), "precision": "fp16"}), tmp_path)


@pytest.mark.parametrize("loss", ["minimax", "hinge", "wgan-gp", "lsgan"])
def test_every_loss_trains(loss, tiny_mlp_cfg, tmp_path):
    cfg = TrainConfig(**{**vars(tiny_mlp_cfg), "loss": loss, "steps": 4, "r1_gamma": 1.0 if loss == "hinge" else 0.0})
    trainer = GANTrainer(cfg, tmp_path)
    if loss == "wgan-gp":
        assert (trainer.cfg.n_critic, trainer.cfg.gp_weight, trainer.cfg.beta1) == (5, 10.0, 0.0)
    trainer.train(progress=False)
    row = read_csv(tmp_path / "metrics.csv")[-1]
    assert math.isfinite(float(row["g_loss"]))
    if loss in ("wgan-gp", "hinge"):
        assert float(row["d_reg"]) > 0


def test_eval_hook_logs_metrics(tiny_mlp_cfg, tmp_path, monkeypatch):
    calls = []

    def fake_evaluate_generator(generate, dataset, metrics, n, seed, device):
        x = generate(n)
        calls.append((x.shape, metrics, n, seed, dataset.name))
        return {"modes": float(len(calls)), "hq": 0.5}

    from ganstyle.metrics.evaluate import check_metrics

    fake = types.ModuleType("ganstyle.metrics.evaluate")
    fake.evaluate_generator, fake.check_metrics = fake_evaluate_generator, check_metrics
    monkeypatch.setitem(sys.modules, "ganstyle.metrics.evaluate", fake)
    cfg = TrainConfig(**{**vars(tiny_mlp_cfg), "eval_every": 10, "eval_metrics": "modes, kid", "eval_n": 50})
    train_gan(cfg, out=tmp_path / "run", progress=False)
    assert calls == [((50, 2), ["modes", "kid"], 50, 0, "ring8")] * 2
    rows = [r for r in read_csv(tmp_path / "run" / "metrics.csv") if r.get("modes")]
    assert [(r["step"], r["modes"]) for r in rows] == [("10", "1"), ("20", "2")]
    assert (tmp_path / "run" / "metrics.png").exists()


def test_conditional_training(tiny_dcgan_cfg, tmp_path):
    cfg = TrainConfig(**{**vars(tiny_dcgan_cfg), "conditional": True})
    run = train_gan(cfg, out=tmp_path / "run", progress=False)
    g = load_generator(run)
    assert g.num_classes == 10
    x = g.generate(4, labels=3)
    assert x.shape == (4, 1, 8, 8)
    saved = np.load(sample(g, n=6, out=tmp_path / "c.npz", labels=7))
    assert saved["images"].shape == (6, 8, 8, 1) and saved["labels"].tolist() == [7] * 6
    with pytest.raises(GanstyleError, match="--conditional"):
        GANTrainer(TrainConfig(**{**vars(tiny_dcgan_cfg), "data": "folder:x", "conditional": True}), tmp_path,
                   dataset=types.SimpleNamespace(num_classes=None, shape=(1, 8, 8), kind="images"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_cuda_training_and_resume(precision, tiny_dcgan_cfg, tmp_path):
    cfg = TrainConfig(**{**vars(tiny_dcgan_cfg), "device": "cuda", "precision": precision, "image_size": 16,
                         "loss": "wgan-gp" if precision == "fp16" else "ns"})
    run = train_gan(cfg, out=tmp_path / "run", progress=False)
    train_gan(resume=run, steps=2 * cfg.steps, progress=False)
    _, state = _final_tensors(run)
    assert state["step"] == 2 * cfg.steps
    x = load_generator(run, device="cuda").generate(8)
    assert x.device.type == "cpu" and x.shape == (8, 1, 16, 16) and torch.isfinite(x).all()


def test_precision_auto_follows_native_bf16(monkeypatch, capsys):
    import torch

    from ganstyle import torch_utils

    cpu = torch.device("cpu")
    monkeypatch.setattr(torch_utils, "native_bf16", lambda device: False)
    assert torch_utils.resolve_precision("auto", cpu) == "fp32"
    assert torch_utils.resolve_precision("bf16", cpu) == "bf16"
    assert "several times slower than fp32" in capsys.readouterr().out
    monkeypatch.setattr(torch_utils, "native_bf16", lambda device: True)
    assert torch_utils.resolve_precision("auto", cpu) == "bf16"
    assert torch_utils.resolve_precision("bf16", cpu) == "bf16"
    assert capsys.readouterr().out == ""
