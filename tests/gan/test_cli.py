import dataclasses

import numpy as np
import pytest
from PIL import Image

from ganstyle.cli import main
from ganstyle.gan.trainer import TrainConfig, load_run_config

TINY = ["--data", "ring8", "--data-n", "1000", "--model", "mlp", "--latent-dim", "4", "--g-width", "16",
        "--d-width", "16", "--depth", "1", "--batch-size", "32", "--steps", "6", "--log-every", "3",
        "--device", "cpu", "--no-progress"]
TINY_IMG = ["--data", "digits", "--data-n", "64", "--model", "dcgan", "--latent-dim", "4", "--g-width", "4",
            "--d-width", "4", "--batch-size", "16", "--steps", "2", "--log-every", "1", "--device", "cpu",
            "--no-progress"]


@pytest.fixture(scope="module")
def point_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "points"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "images"
    assert main(["train", *TINY_IMG, "--out", str(out)]) == 0
    return out


def _one_line_error(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert match in err, err
    return err


def test_train_help_lists_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for f in dataclasses.fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in out, f.name
    for flag in ("--out", "--resume", "--config"):
        assert flag in out


def test_errors_are_one_line(capsys, tmp_path, point_run):
    _one_line_error(capsys, ["train", *TINY, "--model", "nope", "--out", str(tmp_path / "a")], "unknown model 'nope'")
    _one_line_error(capsys, ["train", *TINY, "--data", "bogus", "--out", str(tmp_path / "b")], "unknown dataset 'bogus'")
    _one_line_error(capsys, ["train", "--resume", str(tmp_path / "missing")], "no such run directory")
    _one_line_error(capsys, ["train", *TINY, "--out", str(point_run)], "already holds a run")
    _one_line_error(capsys, ["train", *TINY, "--model", "dcgan", "--out", str(tmp_path / "c")], "needs image data")
    _one_line_error(capsys, ["sample", str(point_run), "--truncation", "1.5", "--out", str(tmp_path / "s.png")],
                    "does not support truncation")
    _one_line_error(capsys, ["sample", str(tmp_path), "--out", str(tmp_path / "s.png")], "no checkpoint found")
    _one_line_error(capsys, ["sample", str(point_run), "--class", "3", "--out", str(tmp_path / "s.png")],
                    "not class-conditional")
    _one_line_error(capsys, ["train", "--data", "ring8"], "exactly one of --out")
    _one_line_error(capsys, ["sample", str(point_run), "--out", str(tmp_path / "s.txt")], "use a .png/.jpg grid")


def test_sample_points_npz_png_dir(point_run, tmp_path, capsys):
    assert main(["sample", str(point_run), "--n", "300", "--out", str(tmp_path / "pts.npz")]) == 0
    pts = np.load(tmp_path / "pts.npz")["points"]
    assert pts.shape == (300, 2) and pts.dtype == np.float32
    assert main(["sample", str(point_run), "--n", "300", "--out", str(tmp_path / "pts.png")]) == 0
    assert Image.open(tmp_path / "pts.png").size[0] > 300
    assert main(["sample", str(point_run), "--n", "50", "--out", str(tmp_path / "dir") + "/"]) == 0
    assert np.load(tmp_path / "dir" / "points.npz")["points"].shape == (50, 2)
    assert (tmp_path / "dir" / "scatter.png").exists()


def test_sample_images_grid_dir_npz_interpolation(image_run, tmp_path):
    assert main(["sample", str(image_run), "--n", "10", "--out", str(tmp_path / "g.png")]) == 0
    w, h = Image.open(tmp_path / "g.png").size
    assert (w, h) == (2 + 4 * (64 + 2), 2 + 3 * (64 + 2))  # 8x8 digits upscaled to 64 px, 4 per row, 3 rows
    assert main(["sample", str(image_run), "--n", "5", "--out", str(tmp_path / "imgs")]) == 0
    assert sorted(p.name for p in (tmp_path / "imgs").iterdir()) == [f"{i:06d}.png" for i in range(5)]
    assert main(["sample", str(image_run), "--n", "7", "--out", str(tmp_path / "x.npz"), "--truncation", "0.5"]) == 0
    imgs = np.load(tmp_path / "x.npz")["images"]
    assert imgs.shape == (7, 8, 8, 1) and imgs.dtype == np.uint8
    assert main(["sample", str(image_run), "--n", "12", "--interpolate", "4", "--out", str(tmp_path / "i.png")]) == 0
    w, h = Image.open(tmp_path / "i.png").size
    assert (w, h) == (2 + 4 * 66, 2 + 3 * 66)


def test_config_round_trip_and_resume_flags(point_run, tmp_path):
    cfg = load_run_config(point_run)
    assert (cfg.latent_dim, cfg.g_width, cfg.steps, cfg.batch_size) == (4, 16, 6, 32)
    assert main(["train", "--config", str(point_run / "config.toml"), "--no-progress", "--seed", "3",
                 "--out", str(tmp_path / "copy")]) == 0
    copy = load_run_config(tmp_path / "copy")
    assert dataclasses.replace(copy, seed=cfg.seed) == cfg and copy.seed == 3
    assert main(["train", "--resume", str(tmp_path / "copy"), "--steps", "9", "--no-progress"]) == 0
    assert load_run_config(tmp_path / "copy").steps == 9
    assert (tmp_path / "copy" / "checkpoints" / "step_00000009.json").exists()
