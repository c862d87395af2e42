"""Data-parallel training under torchrun: 2 gloo processes on loopback, checked against one process.

The launched runs are tiny MLP GANs; the expensive part is starting the processes, so one
launch checks several things (equivalence, resume across world sizes, a hard kill).
"""

import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganstyle import distributed
from ganstyle.distributed import Distributed
from ganstyle.errors import GanstyleError
from ganstyle.gan.losses import gradient_penalty
from ganstyle.gan.trainer import GANTrainer, TrainConfig, train_gan
from ganstyle.io.checkpoints import checkpoint_stem, latest_checkpoint, list_checkpoints, load_checkpoint
from ganstyle.io.runlog import read_csv

SRC = Path(__file__).resolve().parents[1] / "src"

# A wgan-gp MLP: no batch norm (so 2 x B must equal 1 x 2B), two critic steps per G step, a
# gradient penalty (double backward through the plain D) and R1 (double backward through
# DDP's own forward pass): both second-order terms must be averaged over the processes too.
MLP_FLAGS = {"data": "ring8", "data_n": 512, "model": "mlp", "latent_dim": 4, "g_width": 16, "d_width": 16,
             "depth": 2, "batch_size": 16, "loss": "wgan-gp", "n_critic": 2, "r1_gamma": 1.0, "log_every": 1,
             "sample_every": 0,
             "ckpt_every": 1, "keep_checkpoints": 0, "device": "cpu", "lr_decay": 0.0,  # runs are extended
             "precision": "fp32"}  # equivalence to 1e-6 needs fp32 wherever auto would pick bf16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli_flags(values: dict) -> list[str]:
    return [a for k, v in values.items() for a in (f"--{k.replace('_', '-')}", str(v))]


def _torchrun(args: list[str], nproc: int = 2, command: str = "train") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           "-m", "ganstyle", command, *(["--no-progress"] if command == "train" else []), *args]
    # Its own session, so the test can signal the launcher like a scheduler would.
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"torchrun exited early with {proc.returncode}:\n{proc.stdout.read()[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("torchrun run made no progress in time")
        time.sleep(0.05)


def _weights(stem: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(stem)[0]


def _assert_close(a: dict, b: dict, atol: float) -> None:
    assert a.keys() == b.keys()
    assert {k.split(".")[0] for k in a} == {"G", "D", "G_ema"}
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=atol, rtol=0, msg=k)


def test_two_processes_equal_one_and_resume_across_world_sizes_after_a_kill(tmp_path):
    """1 process for 2 steps -> 2 processes (killed by the launcher's SIGTERM) -> 1 process again,
    compared with one uninterrupted single-process run of the same global batch."""
    run = tmp_path / "run"
    train_gan(TrainConfig(**{**MLP_FLAGS, "steps": 2}), out=run, progress=False)
    proc = _torchrun(["--resume", str(run), "--steps", "100000"])
    ckpts = run / "checkpoints"
    _wait_for(lambda: (ckpts / "step_00000004.json").exists(), proc)
    os.killpg(proc.pid, signal.SIGTERM)  # the launcher terminates its workers: no checkpoint on the way out
    proc.wait(60)
    killed_at = latest_checkpoint(ckpts)
    k = int(killed_at.name.split("_")[1])
    assert 4 <= k < 100000
    # only rank 0 writes: one metrics row per step, and the loss log of the 2-process steps
    rows = read_csv(run / "metrics.csv")
    steps = [int(r["step"]) for r in rows]
    assert steps[:k] == list(range(1, k + 1)) and len(set(steps)) == len(steps)

    straight = tmp_path / "straight"
    train_gan(TrainConfig(**{**MLP_FLAGS, "steps": k + 2}), out=straight, progress=False)
    ref = straight / "checkpoints"
    # step 3 is the first one made by 2 processes x 8 samples from the same state as 1 x 16
    _assert_close(_weights(checkpoint_stem(ckpts, 3)), _weights(checkpoint_stem(ref, 3)), atol=1e-6)
    _assert_close(_weights(killed_at), _weights(checkpoint_stem(ref, k)), atol=1e-5)
    # logged metrics are averaged over both ranks, so they equal the single process's
    ref_rows = {int(r["step"]): r for r in read_csv(straight / "metrics.csv")}
    for r in rows[2:k]:
        for col in ("d_loss", "g_loss", "d_reg"):
            assert math.isclose(float(r[col]), float(ref_rows[int(r["step"])][col]), rel_tol=1e-4, abs_tol=1e-6), col

    train_gan(resume=run, steps=k + 2, progress=False)  # back on one process
    _assert_close(_weights(latest_checkpoint(ckpts)), _weights(checkpoint_stem(ref, k + 2)), atol=1e-5)
    assert [int(r["step"]) for r in read_csv(run / "metrics.csv")] == list(range(1, k + 3))


def test_ctrl_c_under_torchrun_stops_every_rank_at_the_same_step(tmp_path):
    run = tmp_path / "run"
    flags = {**MLP_FLAGS, "steps": 100000, "ckpt_every": 100000, "loss": "ns", "n_critic": 1}
    proc = _torchrun(_cli_flags(flags) + ["--out", str(run)])
    _wait_for(lambda: (run / "metrics.csv").exists() and len(read_csv(run / "metrics.csv")) >= 3, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does; torchrun forwards it to the workers
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out[-3000:]
    (step, stem), = list_checkpoints(run / "checkpoints")
    assert 3 <= step < 100000
    # both ranks stopped cleanly, neither hung nor crashed
    assert out.count("ganstyle train: interrupted") == 2, out[-3000:]
    assert str(SRC) not in out, out[-3000:]  # no traceback through ganstyle (torchrun prints its own for the signal)
    rows = read_csv(run / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, step + 1))
    # and the stopped run goes on in one process
    train_gan(resume=run, steps=step + 1, progress=False)
    assert latest_checkpoint(run / "checkpoints").name == f"step_{step + 1:08d}"


def _style_data(folder: Path) -> Path:
    import skimage.data

    from ganstyle.io.images import save_image

    def photo(name: str, size: int) -> torch.Tensor:
        img = torch.from_numpy(getattr(skimage.data, name)()).permute(2, 0, 1).float() / 255
        return torch.nn.functional.interpolate(img[None], size=(size, size), mode="area")[0]

    (folder / "content").mkdir(parents=True)
    for name in ("astronaut", "coffee", "chelsea"):
        save_image(photo(name, 40), folder / "content" / f"{name}.png")
    save_image(photo("immunohistochemistry", 48), folder / "style.png")
    return folder


def test_style_training_on_two_processes_equals_one_and_resumes_on_one(tmp_path):
    from ganstyle.style.methods.fast import FAST
    from ganstyle.style.model import StyleTrainConfig
    from ganstyle.style.train import train_style

    data = _style_data(tmp_path / "data")
    flags = dict(method="fast", style=data / "style.png", content_dir=data / "content", backbone="random", steps=3,
                 batch_size=4, image_size=32, style_size=48, width=8, res_blocks=1, log_every=1, sample_every=0,
                 ckpt_every=0, device="cpu", precision="fp32")
    proc = _torchrun(_cli_flags(flags) + ["--out", str(tmp_path / "two")], command="train-style")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out[-3000:]
    assert out.count("model: ") == 1 and out.count("step 3/3") == 1  # rank 0 speaks for the job
    cfg = {k: str(v) if isinstance(v, Path) else v for k, v in flags.items()}
    train_style(StyleTrainConfig(**cfg, out=str(tmp_path / "one")), progress=False)
    two, one = read_csv(tmp_path / "two" / "metrics.csv"), read_csv(tmp_path / "one" / "metrics.csv")
    assert [r["step"] for r in two] == ["1", "2", "3"]
    for a, b in zip(two, one):
        for col in ("total", "content", "style", "tv"):
            assert math.isclose(float(a[col]), float(b[col]), rel_tol=1e-4), col

    probe = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))

    def stylise(model_dir: Path) -> torch.Tensor:
        return FAST.load(model_dir).net(probe)

    # Weights are compared through the network's output: Adam turns the float noise in the
    # (exactly zero) gradients of biases in front of instance norms into visible, harmless steps.
    torch.testing.assert_close(stylise(tmp_path / "two"), stylise(tmp_path / "one"), atol=2e-4, rtol=0)
    train_style(StyleTrainConfig(**{**cfg, "steps": 5}, out=str(tmp_path / "two")), resume=tmp_path / "two",
                progress=False)
    train_style(StyleTrainConfig(**{**cfg, "steps": 5}, out=str(tmp_path / "straight")), progress=False)
    torch.testing.assert_close(stylise(tmp_path / "two"), stylise(tmp_path / "straight"), atol=5e-4, rtol=0)


# ---------------------------------------------------------------------- in-process pieces


def test_shards_tile_the_global_batch_and_need_an_even_split():
    batch = torch.arange(12)
    parts = [Distributed(rank=r, world=3).shard(batch) for r in range(3)]
    assert torch.equal(torch.cat(parts), batch)
    assert Distributed().shard(batch) is batch
    with pytest.raises(GanstyleError, match=r"--batch-size 10: .* 4 processes .* multiple of 4, e\.g\. 8"):
        Distributed(rank=1, world=4).local_batch(10)


def test_trainer_refuses_a_batch_that_does_not_split(monkeypatch, tmp_path):
    monkeypatch.setattr(distributed, "setup", lambda device: Distributed(rank=0, world=3, device=device))
    with pytest.raises(GanstyleError, match="--batch-size 16: the global batch must split evenly over the 3"):
        GANTrainer(TrainConfig(**{**MLP_FLAGS, "steps": 1}), tmp_path)


def test_outside_torchrun_the_world_is_one_process(monkeypatch):
    for var in distributed.TORCHRUN_VARS:
        monkeypatch.delenv(var, raising=False)
    ctx = distributed.setup(torch.device("cpu"))
    assert (ctx.rank, ctx.world, ctx.is_main, ctx.enabled) == (0, 1, True, False)
    module = torch.nn.Linear(2, 2)
    assert ctx.wrap(module) is module
    assert ctx.agree_to_stop(True) is True


def test_private_seeds_differ_per_rank_and_rank_zero_keeps_the_run_stream():
    def draw(rank, step=0):
        torch.manual_seed(7)
        Distributed(rank=rank, world=3).seed_private_rngs(7, step)
        return torch.rand(4)

    torch.manual_seed(7)
    run_stream = torch.rand(4)
    assert torch.equal(draw(0), run_stream)
    assert torch.equal(draw(1), draw(1))
    assert not torch.equal(draw(1), draw(2)) and not torch.equal(draw(1), run_stream)
    assert not torch.equal(draw(1, step=10), draw(1))


def test_sync_batchnorm_is_refused_on_cpu():
    with pytest.raises(GanstyleError, match="--sync-bn: .*CUDA"):
        Distributed(rank=0, world=2).convert_sync_batchnorm(torch.nn.BatchNorm2d(3))


def test_gradient_penalty_slice_of_a_batch_wide_draw_equals_its_own_draw():
    D = lambda x, y: (x ** 3).sum(1)  # noqa: E731  (a non-linear critic: its gradient norm varies)
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    a = gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(0))
    alpha = torch.rand(8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(gradient_penalty(D, real, fake, alpha=alpha), a)
    halves = [gradient_penalty(D, real[i:i + 4], fake[i:i + 4], alpha=alpha[i:i + 4]) for i in (0, 4)]
    torch.testing.assert_close((halves[0] + halves[1]) / 2, a)


def test_channels_last_trains_like_the_default_layout(tmp_path):
    cfg = dict(data="digits", data_n=64, model="dcgan", latent_dim=8, g_width=8, d_width=8, batch_size=16,
               steps=2, log_every=1, sample_every=0, ckpt_every=0, device="cpu")
    a = GANTrainer(TrainConfig(**cfg), tmp_path / "a")
    b = GANTrainer(TrainConfig(**cfg, channels_last=True), tmp_path / "b")
    assert b.D.body[0].weight.is_contiguous(memory_format=torch.channels_last)
    a.train(progress=False), b.train(progress=False)
    for (k, pa), pb in zip(a.G.state_dict().items(), b.G.state_dict().values()):
        torch.testing.assert_close(pa, pb, atol=1e-4, rtol=1e-4, msg=k)


# ---------------------------------------------------------------------- opt-in and GPU


@pytest.mark.skipif(not os.environ.get("GANSTYLE_TEST_COMPILE"),
                    reason="torch.compile takes over a minute to build on this CPU; set GANSTYLE_TEST_COMPILE=1")
def test_compiled_training_matches_eager(tmp_path):
    cfg = {**MLP_FLAGS, "loss": "ns", "n_critic": 1, "steps": 3, "ckpt_every": 0}
    eager = GANTrainer(TrainConfig(**cfg), tmp_path / "eager")
    compiled = GANTrainer(TrainConfig(**cfg, compile=True), tmp_path / "compiled")
    eager.train(progress=False), compiled.train(progress=False)
    for (k, a), b in zip(eager.G.state_dict().items(), compiled.G.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5, msg=k)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_channels_last_on_gpu(precision, tmp_path):
    cfg = TrainConfig(data="digits", data_n=256, image_size=32, model="dcgan", batch_size=32, steps=20,
                      log_every=5, sample_every=0, ckpt_every=0, device="cuda", precision=precision,
                      channels_last=True)
    trainer = GANTrainer(cfg, tmp_path)
    trainer.train(progress=False)
    rows = read_csv(tmp_path / "metrics.csv")
    assert all(math.isfinite(float(r["d_loss"])) for r in rows)
    assert all(p.dtype == torch.float32 for p in trainer.G.parameters())


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_two_gpus_with_nccl_equal_one_gpu(tmp_path):
    flags = {**MLP_FLAGS, "device": "cuda", "steps": 3}
    proc = _torchrun(_cli_flags(flags) + ["--out", str(tmp_path / "two")])
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    train_gan(TrainConfig(**flags), out=tmp_path / "one", progress=False)
    _assert_close(_weights(latest_checkpoint(tmp_path / "two" / "checkpoints")),
                  _weights(latest_checkpoint(tmp_path / "one" / "checkpoints")), atol=1e-4)
