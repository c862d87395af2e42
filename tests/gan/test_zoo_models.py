"""The model zoo trains with the shared trainer: shapes, moving losses, checkpoints, exact resume."""

import math

import pytest
import torch
from PIL import Image

from ganstyle.cli import main
from ganstyle.errors import GanstyleError
from ganstyle.gan.models import build_models, sngan
from ganstyle.gan.sampling import load_generator
from ganstyle.gan.trainer import GANTrainer, TrainConfig, resolve_defaults, train_gan
from ganstyle.io.checkpoints import latest_checkpoint, load_checkpoint
from ganstyle.io.runlog import read_csv

ZOO = ["sngan", "sagan", "cond", "biggan", "stylegan-lite"]


def tiny(model: str, **kw) -> TrainConfig:
    base = dict(data="digits", image_size=16, data_n=256, model=model, latent_dim=16, g_width=8, d_width=8,
                batch_size=16, steps=4, log_every=2, sample_every=0, ckpt_every=2, device="cpu")
    if model in ("sagan", "biggan"):
        base["attn_res"] = 8
    return TrainConfig(**{**base, **kw})


def _final(run):
    return load_checkpoint(latest_checkpoint(run / "checkpoints"))


@pytest.mark.parametrize("model", ZOO)
def test_zoo_model_trains_and_resumes_exactly(model, tmp_path):
    cfg = tiny(model)
    straight = train_gan(tiny(model, steps=8), out=tmp_path / "straight", progress=False)
    half = train_gan(cfg, out=tmp_path / "half", progress=False)
    resumed = train_gan(resume=half, steps=8, progress=False)
    (a, sa), (b, sb) = _final(straight), _final(resumed)
    assert sa["step"] == sb["step"] == 8
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # the losses move: the log records different values over time, and D's weights left their init
    rows = read_csv(straight / "metrics.csv")
    assert len({r["d_loss"] for r in rows}) > 1 and all(math.isfinite(float(r["g_loss"])) for r in rows)
    g = load_generator(straight)
    labels = 3 if g.num_classes else None
    x = g.generate(5, seed=1, labels=labels)
    assert x.shape == (5, 1, 16, 16) and x.abs().max() <= 1
    assert torch.equal(x, g.generate(5, seed=1, labels=labels))  # eval mode is deterministic
    trainer = GANTrainer(cfg, tmp_path / "probe")
    logits = trainer.D(trainer.x[:8], trainer.y[:8] if trainer.y is not None else None)
    assert logits.shape == (8,)


def test_defaults_follow_the_papers():
    sn = resolve_defaults(tiny("sngan", batch_size=None))
    assert (sn.loss, sn.beta1, sn.n_critic, sn.sngan.g_sn, sn.sngan.attn_res) == ("hinge", 0.5, 1, False, 0)
    sa = resolve_defaults(TrainConfig(data="digits", model="sagan"))
    assert (sa.g_lr, sa.d_lr, sa.n_critic, sa.beta1, sa.sagan.g_sn, sa.sagan.attn_res) == (1e-4, 4e-4, 1, 0.0, True, None)
    # unset, attention goes to the largest feature map below the image size: 16 at 32 px, as in the paper
    assert [sngan.attention_resolution(sa, size) for size in (8, 16, 32, 64)] == [8, 8, 16, 32]
    st = resolve_defaults(TrainConfig(data="digits", model="stylegan-lite"))
    assert (st.loss, st.r1_gamma, st.reg_every, st.mbstd_group) == ("ns", 0.01, 4, 4)
    assert resolve_defaults(TrainConfig(data="digits", model="cond")).conditional
    # an explicit choice wins over the family's default
    assert resolve_defaults(TrainConfig(data="digits", model="sngan", loss="ns")).loss == "ns"
    assert resolve_defaults(TrainConfig(data="digits", model="dcgan")).loss == "ns"


def test_sngan_64px_and_width():
    cfg = resolve_defaults(tiny("sngan", image_size=64, g_width=4, d_width=4))
    G, D = build_models(cfg, (3, 64, 64), None)
    x = G(torch.randn(2, 16))
    assert x.shape == (2, 3, 64, 64)
    assert D(x).shape == (2,)
    wide = resolve_defaults(tiny("sngan", image_size=64, g_width=8, d_width=4))
    G8, _ = build_models(wide, (3, 64, 64), None)
    assert sum(p.numel() for p in G8.parameters()) > 2 * sum(p.numel() for p in G.parameters())


def test_sagan_places_attention_at_the_requested_size():
    from ganstyle.gan.layers import SelfAttention

    G, D = build_models(resolve_defaults(tiny("sagan", attn_res=8)), (1, 16, 16), None)
    seen = {}

    def hook(module, inp, out):
        seen.setdefault(id(module), out.shape[-1])

    for m in list(G.modules()) + list(D.modules()):
        if isinstance(m, SelfAttention):
            m.register_forward_hook(hook)
    D(G(torch.randn(2, 16)))
    assert sorted(seen.values()) == [8, 8]
    with pytest.raises(GanstyleError, match="--sagan.attn-res 5"):
        build_models(resolve_defaults(tiny("sagan", attn_res=5)), (1, 16, 16), None)


def test_zoo_rejects_points_with_a_clear_error(tmp_path):
    with pytest.raises(GanstyleError, match="--model sngan needs image data"):
        GANTrainer(TrainConfig(data="ring8", data_n=500, model="sngan"), tmp_path)


def test_stylegan_truncation_and_mixing():
    cfg = resolve_defaults(tiny("stylegan-lite"))
    G, _ = build_models(cfg, (1, 16, 16), None)
    G.train()
    G(torch.randn(64, 16))  # tracks the running mean of w
    G.eval()
    z = torch.randn(4, 16)
    with torch.no_grad():
        collapsed = G(z, truncation=0.0)
        assert torch.allclose(collapsed, collapsed[:1].expand_as(collapsed), atol=1e-6)  # psi=0: every z -> mean w
        assert torch.allclose(G(z, truncation=1.0), G(z), atol=1e-6)
        # mixing: coarse layers from one latent, fine layers from another
        w1, w2 = G.map(z[:1]), G.map(z[1:2])
        cut = 3
        ws = torch.cat([w1[:, None].expand(-1, cut, -1), w2[:, None].expand(-1, G.num_ws - cut, -1)], 1)
        mixed = G.synthesis(ws)
        pure1, pure2 = G.synthesis(w1[:, None].expand(-1, G.num_ws, -1)), G.synthesis(w2[:, None].expand(-1, G.num_ws, -1))
        assert not torch.allclose(mixed, pure1) and not torch.allclose(mixed, pure2)


def test_conditional_sampling_cli(tmp_path, capsys):
    run = train_gan(tiny("cond", steps=2), out=tmp_path / "run", progress=False)
    assert main(["sample", str(run), "--class", "3", "--n", "4", "--out", str(tmp_path / "three.npz")]) == 0
    import numpy as np

    with np.load(tmp_path / "three.npz") as z:
        assert z["images"].shape == (4, 16, 16, 1) and list(z["labels"]) == [3, 3, 3, 3]
    assert main(["sample", str(run), "--per-class", "3", "--out", str(tmp_path / "grid.png")]) == 0
    w, h = Image.open(tmp_path / "grid.png").size
    assert h > 3 * w  # ten rows (classes) of three samples
    assert main(["sample", str(run), "--class", "12", "--out", str(tmp_path / "x.png")]) == 2
    assert "--class 12: this model has classes 0 to 9" in capsys.readouterr().err
