"""Form fields -> the ganstyle command a person would type; progress read back from outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganstyle.cli import build_parser
from ganstyle.errors import GanstyleError
from ganstyle.studio.commands import build_job, job_live

from .conftest import png_bytes


@pytest.fixture
def workdir(tmp_path) -> Path:
    (tmp_path / "uploads/images").mkdir(parents=True)
    (tmp_path / "uploads/images/photo.png").write_bytes(png_bytes())
    (tmp_path / "uploads/images/paint.png").write_bytes(png_bytes())
    (tmp_path / "uploads/datasets/faces").mkdir(parents=True)
    (tmp_path / "models/adain").mkdir(parents=True)
    run = tmp_path / "runs/old"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.toml").write_text('data = "ring8"\n')
    return tmp_path


def _parses(argv: list[str]):
    """The studio's argv must be accepted by the real CLI parser."""
    return build_parser().parse_args(argv)


def test_gatys_job_is_the_stylize_command_with_strength_as_style_weight(workdir):
    kind, argv, outputs = build_job(workdir, {"kind": "stylize", "content": "uploads/images/photo.png",
                                              "styles": ["uploads/images/paint.png"], "size": "96",
                                              "iterations": 30, "strength": 0.25, "backbone": "random"})
    args = _parses(argv)
    assert kind == "stylize" and args.command == "stylize"
    assert args.content == "uploads/images/photo.png" and args.styles == ["uploads/images/paint.png"]
    assert (args.size, args.iterations, args.save_every, args.backbone) == (96, 30, 3, "random")
    assert args.style_weight == pytest.approx(25.0)  # a quarter of GatysConfig's 100
    assert args.out == outputs["result"] and outputs["result"].startswith("stylised/")
    assert outputs["intermediate"] == outputs["result"][:-4]


def test_a_file_named_like_a_flag_stays_a_path(workdir):
    (workdir / "--help.png").write_bytes(png_bytes())
    args = _parses(build_job(workdir, {"kind": "stylize", "content": "--help.png", "styles": ["--help.png"]})[1])
    assert args.content == "./--help.png" and args.styles == ["./--help.png"]


def test_adain_job_uses_alpha_and_an_optional_model(workdir):
    _, argv, _ = build_job(workdir, {"kind": "stylize", "method": "adain", "content": "uploads/images/photo.png",
                                     "styles": ["uploads/images/paint.png"], "strength": 0.6, "model": "models/adain",
                                     "preserve_color": "histogram"})
    args = _parses(argv)
    assert (args.method, args.alpha, args.model, args.preserve_color) == ("adain", 0.6, "models/adain", "histogram")
    _, argv, _ = build_job(workdir, {"kind": "stylize", "method": "adain", "content": "uploads/images/photo.png",
                                     "styles": ["uploads/images/paint.png"]})
    assert getattr(_parses(argv), "model", None) is None  # the shipped model, where there is one (unset flags stay out)


def test_train_job_on_an_uploaded_folder(workdir):
    _, argv, outputs = build_job(workdir, {"kind": "train", "data": "uploads/datasets/faces", "model": "dcgan",
                                           "loss": "hinge", "steps": 300, "image_size": 16, "name": "my faces"})
    args = _parses(argv)
    assert (args.data, args.model, args.loss, args.steps, args.image_size) == (
        "folder:uploads/datasets/faces", "dcgan", "hinge", 300, 16)
    assert args.out == outputs["run"] == "runs/my_faces"
    assert (args.sample_every, args.log_every) == (30, 7)
    _, argv2, outputs2 = build_job(workdir, {"kind": "train", "name": "old"})
    assert outputs2["run"] == "runs/old-2"  # never trains into an existing run


def test_run_actions(workdir):
    args = _parses(build_job(workdir, {"kind": "resume", "run": "runs/old", "steps": 900})[1])
    assert (args.resume, args.steps) == ("runs/old", 900)
    args = _parses(build_job(workdir, {"kind": "sample", "run": "runs/old", "n": 10, "label": 3})[1])
    assert (args.source, args.n, args.labels, getattr(args, "interpolate", 0)) == ("runs/old", 10, 3, 0)  # unset flags stay out of the namespace
    assert args.out.startswith("runs/old/studio/class3-")
    args = _parses(build_job(workdir, {"kind": "eval", "run": "runs/old", "metrics": "fid, kid", "n": 100})[1])
    assert (args.run_dir, args.metrics, args.n) == ("runs/old", "fid,kid", 100)
    with pytest.raises(GanstyleError, match="metrics: 'fid,bogus'; choose from auto, fid"):
        build_job(workdir, {"kind": "eval", "run": "runs/old", "metrics": "fid,bogus"})
    with pytest.raises(GanstyleError, match="steps: give the total steps"):
        build_job(workdir, {"kind": "resume", "run": "runs/old"})
    with pytest.raises(GanstyleError, match="expected a JSON object"):
        build_job(workdir, ["train"])


def test_progress_comes_from_what_the_job_wrote(workdir):
    _, argv, outputs = build_job(workdir, {"kind": "stylize", "content": "uploads/images/photo.png",
                                           "styles": ["uploads/images/paint.png"], "iterations": 40})
    job = {"kind": "stylize", "argv": argv, "outputs": outputs, "state": "running"}
    assert job_live(workdir, job) == {"progress": 0.0}
    for step in (4, 8, 12):
        (workdir / f"{outputs['intermediate']}_s0_{step:05d}.png").write_bytes(png_bytes())
    assert job_live(workdir, job) == {"progress": 0.3, "preview": f"{outputs['intermediate']}_s0_00012.png"}

    _, argv, outputs = build_job(workdir, {"kind": "train", "steps": 200, "name": "live"})
    job = {"kind": "train", "argv": argv, "outputs": outputs, "state": "running"}
    assert job_live(workdir, job) == {"progress": 0.0}  # nothing logged yet
    (workdir / "runs/live").mkdir()
    (workdir / "runs/live/metrics.csv").write_text("step,d_loss\n5,1.0\n50,0.9\n")
    assert job_live(workdir, job) == {"progress": 0.25}
