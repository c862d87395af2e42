"""Config-boundary and run-directory failure modes: each row is one bad command, its exit code and
the fragment its one-line message must hold. A new case is one row.

Rows: (argv, files to create first {name: text}, exit code, message fragment). ``{tmp}`` in argv,
file names and fragments is the test's temporary folder; ``{run}`` a tiny trained 2-D run.
"""

import numpy as np
import pytest

from ganstyle.cli import main
from ganstyle.gan.trainer import TrainConfig, train_gan

TRAIN = ["train", "--data", "ring8", "--data-n", "200", "--steps", "3", "--device", "cpu", "--no-progress"]

CASES = [
    # numbers outside their declared range, named by flag
    (TRAIN + ["--g-lr", "-1", "--out", "{tmp}/r"], {}, 2, "--g-lr: must be greater than 0, got -1.0"),
    (TRAIN + ["--image-size", "0", "--out", "{tmp}/r"], {}, 2, "--image-size: must be at least 1, got 0"),
    (TRAIN + ["--ckpt-every", "-1", "--out", "{tmp}/r"], {}, 2, "--ckpt-every: must be at least 0, got -1"),
    (TRAIN + ["--keep-checkpoints", "-2", "--out", "{tmp}/r"], {}, 2, "--keep-checkpoints: must be at least 0, got -2"),
    (TRAIN + ["--sample-every", "-5", "--out", "{tmp}/r"], {}, 2, "--sample-every: must be at least 0, got -5"),
    (TRAIN + ["--ema-decay", "1", "--out", "{tmp}/r"], {}, 2, "--ema-decay: must be at least 0 and less than 1, got 1.0"),
    (TRAIN + ["--model", "sagan", "--sagan.attn-res", "-1", "--out", "{tmp}/r"], {}, 2,
     "--sagan.attn-res: must be at least 0, got -1"),
    # config files: wrong top level, wrong types, bad ranges name the file
    (TRAIN + ["--config", "{tmp}/a.json", "--out", "{tmp}/r"], {"a.json": "[1, 2]"}, 2,
     "a.json: the top level must be a table of settings (name = value), not a list"),
    (TRAIN + ["--config", "{tmp}/s.yaml", "--out", "{tmp}/r"], {"s.yaml": "just words\n"}, 2,
     "s.yaml: the top level must be a table of settings (name = value), not a string"),
    (["train", "--config", "{tmp}/t.toml", "--out", "{tmp}/r"], {"t.toml": "steps = true\n"}, 2,
     "t.toml: config field 'steps': cannot use True as int"),
    (["train", "--config", "{tmp}/n.toml", "--out", "{tmp}/r"], {"n.toml": "batch_size = 0\n"}, 2,
     "--batch-size: must be at least 1, got 0 (from {tmp}/n.toml)"),
    # run directories
    (TRAIN + ["--out", "{tmp}/afile"], {"afile": "x"}, 2, "--out {tmp}/afile: is a file, not a run directory"),
    (TRAIN + ["--out", "{tmp}/old"], {"old/metrics.csv": "step,d_loss\n50,1\n"}, 2,
     "--out {tmp}/old: holds logs of an earlier run (metrics.csv) but no checkpoint"),
    (["train", "--resume", "{tmp}/nothing"], {}, 2, "--resume {tmp}/nothing: no such run directory"),
    # evaluation settings are checked before step 1
    (TRAIN + ["--eval-every", "2", "--out", "{tmp}/r"], {}, 2, "--eval-every needs --eval-metrics"),
    (TRAIN + ["--eval-every", "2", "--eval-metrics", "fid", "--out", "{tmp}/r"], {}, 2,
     "--eval-metrics: fid cannot measure 2-D points"),
    # sample: ranges, the overwrite rule, classes
    (["sample", "{run}", "--batch-size", "0", "--out", "{tmp}/s.png"], {}, 2, "--batch-size: must be at least 1, got 0"),
    (["sample", "{run}", "--n", "0", "--out", "{tmp}/s.png"], {}, 2, "--n: must be at least 1, got 0"),
    (["sample", "{run}", "--out", "{tmp}/photo.png"], {"photo.png": "x"}, 2,
     "--out {tmp}/photo.png: already exists; pass --overwrite to replace it"),
    (["sample", "{run}", "--out", "{tmp}/full/"], {"full/keep.txt": "x"}, 2,
     "--out {tmp}/full/: folder exists and is not empty; pass --overwrite"),
    (["sample", "{run}", "--class", "3", "--out", "{tmp}/s.png"], {}, 2, "--class: this generator is not class-conditional"),
    (["sample", "{run}", "--class", "-1", "--out", "{tmp}/s.png"], {}, 2, "--class: must be at least 0, got -1"),
    # eval: 2-D data, ranges, the overwrite rule (an input is never written)
    (["eval", "{run}", "--metrics", "fid"], {}, 2, "--metrics: fid cannot measure 2-D points; for this data use kid"),
    (["eval", "{run}", "--n", "1"], {}, 2, "--n: must be at least 2, got 1"),
    (["eval", "{run}", "--metrics", "modes", "--json", "{tmp}/e.json"], {"e.json": "{}"}, 2,
     "--json {tmp}/e.json: already exists; pass --overwrite to replace it"),
    (["eval", "{run}", "--metrics", "modes", "--overwrite", "--json", "{run}/checkpoints/step_00000003.json"], {}, 2,
     "is one of this command's inputs; choose another output"),
    # fid
    (["fid", "{tmp}/a.npz", "{tmp}/b.npz", "--overwrite", "--json", "{tmp}/a.npz"], {}, 2,
     "--json {tmp}/a.npz: is one of this command's inputs"),
    (["fid", "{tmp}/a", "{tmp}/b", "--batch-size", "0"], {}, 2, "--batch-size: must be at least 1, got 0"),
    (["fid", "{tmp}/a", "{tmp}/b", "--json", "{tmp}/adir"], {"adir/x": "x"}, 2,
     "--json {tmp}/adir: is a folder, but a file name is expected here"),
]


def _run(argv, capsys):
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def point_run(tmp_path_factory):
    cfg = TrainConfig(data="ring8", data_n=200, g_width=8, d_width=8, latent_dim=2, batch_size=16, steps=3,
                      sample_every=0, ckpt_every=0, device="cpu", precision="fp32")
    run = train_gan(cfg, out=tmp_path_factory.mktemp("fm") / "run", progress=False)
    stats = {"mu": np.zeros(2), "sigma": np.eye(2)}
    for name in ("a.npz", "b.npz"):
        np.savez(run.parent / name, **stats)
    return run


@pytest.mark.parametrize("argv, files, code, fragment", CASES, ids=[c[3][:40] for c in CASES])
def test_cli_config_failure(argv, files, code, fragment, tmp_path, capsys, point_run):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    for name in ("a.npz", "b.npz"):
        (tmp_path / name).write_bytes((point_run.parent / name).read_bytes())
    fill = {"tmp": tmp_path, "run": point_run}
    got, err = _run([a.format(**fill) for a in argv], capsys)
    assert got == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment.format(**fill) in lines[0], err
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_overwrite_replaces_an_output_but_never_an_input(point_run, tmp_path, capsys):
    out = tmp_path / "s.npz"
    out.write_text("old")
    assert main(["sample", str(point_run), "--n", "5", "--out", str(out), "--overwrite"]) == 0
    assert np.load(out)["points"].shape == (5, 2)
    ckpt = point_run / "checkpoints" / "step_00000003.json"
    before = ckpt.read_bytes()
    assert main(["eval", str(point_run), "--metrics", "modes", "--overwrite", "--json", str(ckpt)]) == 2
    assert ckpt.read_bytes() == before
