import dataclasses
import os
import signal

import pytest
import torch

from ganstyle.errors import GanstyleError
from ganstyle.io.checkpoints import list_checkpoints
from ganstyle.io.runlog import read_csv
from ganstyle.translate.data import DomainPair
from ganstyle.translate.api import load_translator, translate_images
from ganstyle.translate.evaluate import measure, train_judges
from ganstyle.translate.trainer import TranslationTrainer, train_translation

from .conftest import write_images


def test_cycle_loss_falls_in_a_short_run(tmp_path, pair16, tiny_cfg):
    from ganstyle.translate.cyclegan import CycleGANConfig

    cfg = dataclasses.replace(tiny_cfg, steps=40, log_every=10, sample_every=0, ckpt_every=0, lr=5e-4)
    run = train_translation(cfg, CycleGANConfig(g_width=8, n_res_blocks=1, d_width=8, d_layers=1), out=tmp_path / "run",
                            pair=pair16, progress=False)
    rows = read_csv(run / "metrics.csv")
    cycle = [float(r["cycle"]) for r in rows]
    assert len(cycle) == 4
    assert cycle[-1] < 0.75 * cycle[0]
    assert (run / "losses.png").is_file() and (run / "samples" / "step_00000040.png").is_file()


@pytest.mark.parametrize("model", ["cyclegan", "munit"])
def test_resume_is_exact(tmp_path, pair16, tiny_cfg, tiny_cyclegan, tiny_munit, model):
    cfg = dataclasses.replace(tiny_cfg, model=model)
    model_cfg = tiny_cyclegan if model == "cyclegan" else tiny_munit
    straight = train_translation(cfg, model_cfg, out=tmp_path / "straight", pair=pair16, progress=False)
    half = train_translation(dataclasses.replace(cfg, steps=3), model_cfg, out=tmp_path / "half", pair=pair16,
                             progress=False)
    resumed = train_translation(resume=half, steps=6, pair=pair16, progress=False)
    (m1, s1), (m2, s2) = load_translator(straight), load_translator(resumed)
    assert s1["step"] == s2["step"] == 6
    for (k, v1), v2 in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(v1, v2), k
    if model == "cyclegan":  # the image pool travels too
        assert torch.equal(s1["model_extra"]["pool_a"]["images"], s2["model_extra"]["pool_a"]["images"])
    # the first part logged its last step (3); the resumed part continues the same file
    assert [r["step"] for r in read_csv(resumed / "metrics.csv")] == ["2", "3", "4", "6"]


def test_resume_refuses_changed_model_settings(tmp_path, pair16, tiny_cfg, tiny_cyclegan):
    run = train_translation(dataclasses.replace(tiny_cfg, steps=3), tiny_cyclegan, out=tmp_path / "r", pair=pair16,
                            progress=False)
    with pytest.raises(GanstyleError, match=r"^--image-size 32: run .* was trained with 16; a resumed run keeps"):
        train_translation(resume=run, image_size=32, progress=False)
    with pytest.raises(GanstyleError, match="already holds a run"):
        train_translation(tiny_cfg, tiny_cyclegan, out=run, pair=pair16, progress=False)


def test_sigterm_stops_with_a_checkpoint(tmp_path, pair16, tiny_cfg, tiny_cyclegan, monkeypatch):
    cfg = dataclasses.replace(tiny_cfg, steps=50, ckpt_every=0)
    trainer = TranslationTrainer(cfg, tiny_cyclegan, tmp_path / "run", pair=pair16)
    step = trainer.train_step

    def step_then_term():
        step()
        if trainer.step == 3:  # the 4th step sends the signal
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(trainer, "train_step", step_then_term)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(progress=False)
    assert [s for s, _ in list_checkpoints(tmp_path / "run" / "checkpoints")] == [4]


def test_nan_loss_stops_naming_the_last_checkpoint(tmp_path, pair16, tiny_cfg, tiny_cyclegan):
    trainer = TranslationTrainer(dataclasses.replace(tiny_cfg, log_every=1), tiny_cyclegan, tmp_path / "run", pair=pair16)
    trainer.train_step()
    trainer.step = 1
    trainer.save()
    real = trainer.model.generator_loss

    def nan_loss(a, b):
        total, parts, fakes = real(a, b)
        return total * float("nan"), parts, fakes

    trainer.model.generator_loss = nan_loss
    with pytest.raises(GanstyleError, match=r"training diverged: g_total became nan by step 2; the last good checkpoint is .*step_00000001"):
        trainer.train(progress=False)


def test_translate_files_folders_and_styles(tmp_path, pair16, tiny_cfg, tiny_munit):
    run = train_translation(dataclasses.replace(tiny_cfg, model="munit", steps=2), tiny_munit, out=tmp_path / "run",
                            pair=pair16, progress=False)
    inputs = write_images(tmp_path / "in" / "sub", 2, size=20)
    written = translate_images(run, [tmp_path / "in"], tmp_path / "out")
    assert written == [tmp_path / "out" / "sub" / "img0.png", tmp_path / "out" / "sub" / "img1.png"]
    from PIL import Image

    assert Image.open(written[0]).size == (16, 16)
    row = translate_images(run, [inputs / "img0.png"], tmp_path / "row.png", n_styles=3, seed=1)[0]
    assert Image.open(row).size == (4 * 16 + 5 * 2, 16 + 2 * 2)  # input + 3 styles, padded grid
    with pytest.raises(GanstyleError, match=r"row.png exists; pass --overwrite"):
        translate_images(run, [inputs / "img0.png"], tmp_path / "row.png", n_styles=3)
    translate_images(run, [inputs / "img0.png"], tmp_path / "row.png", n_styles=3, seed=1, overwrite=True)
    with pytest.raises(GanstyleError, match=r"img0.png is one of the inputs"):
        translate_images(run, [inputs / "img0.png"], inputs / "img0.png", overwrite=True)
    ref = translate_images(run, [inputs / "img1.png"], tmp_path / "ref.png", style_ref=inputs / "img0.png")[0]
    assert ref.is_file()


def test_judges_separate_identity_from_real_target_images(pair16):
    small = DomainPair("digits-small", pair16.a[:200], pair16.b[:200], pair16.a_labels[:200], pair16.b_labels[:200],
                       pair16.a_test[:100], pair16.a_test_labels[:100])
    judges = train_judges(small, epochs=8)
    ident = {r["metric"]: r["value"] for r in measure(small, judges, a2b=lambda x: x, b2a=lambda x: x)["records"]}
    # "translations" that are other real B images: the target look, by construction
    as_b = {r["metric"]: r["value"] for r in measure(small, judges, a2b=lambda x: pair16.b[300:300 + len(x)])["records"]}
    assert ident["looks_b"] < 0.2 and as_b["looks_b"] > 0.8
    assert as_b["fid"] < 0.5 * ident["fid"]
    assert ident["content_cycle"] > 0.6  # A's own digits, by a small A classifier trained briefly
