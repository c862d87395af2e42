"""Config-boundary and run-directory failure modes: each row is one bad command, its exit code and
the fragment its one-line message must hold. A new case is one row.

Rows: (argv, files to create first {name: text}, exit code, message fragment). ``{tmp}`` in argv,
file names and fragments is the test's temporary folder.
"""

import pytest

from ganstyle.cli import main

TRAIN = ["train", "--data", "ring8", "--data-n", "200", "--steps", "3", "--device", "cpu", "--no-progress"]

CASES = [
    # numbers outside their declared range, named by flag
    (TRAIN + ["--g-lr", "-1", "--out", "{tmp}/r"], {}, 2, "--g-lr: must be greater than 0, got -1.0"),
    (TRAIN + ["--image-size", "0", "--out", "{tmp}/r"], {}, 2, "--image-size: must be at least 1, got 0"),
    (TRAIN + ["--ckpt-every", "-1", "--out", "{tmp}/r"], {}, 2, "--ckpt-every: must be at least 0, got -1"),
    (TRAIN + ["--keep-checkpoints", "-2", "--out", "{tmp}/r"], {}, 2, "--keep-checkpoints: must be at least 0, got -2"),
    (TRAIN + ["--sample-every", "-5", "--out", "{tmp}/r"], {}, 2, "--sample-every: must be at least 0, got -5"),
    (TRAIN + ["--ema-decay", "1", "--out", "{tmp}/r"], {}, 2, "--ema-decay: must be at least 0 and less than 1, got 1.0"),
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
]


def _run(argv, capsys):
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("argv, files, code, fragment", CASES, ids=[c[3][:40] for c in CASES])
def test_cli_config_failure(argv, files, code, fragment, tmp_path, capsys):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    got, err = _run([a.format(tmp=tmp_path) for a in argv], capsys)
    assert got == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment.format(tmp=tmp_path) in lines[0], err
    assert not (tmp_path / "r" / "checkpoints").exists()
