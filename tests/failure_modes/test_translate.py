"""Failure modes of translate-train, translate and translate-eval: (setup, argv, exit code, message fragment)."""

import numpy as np
import pytest
from PIL import Image

from ganstyle.cli import main


def run_cli(argv, capsys):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err.strip()


def _images(folder, n, size=12):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{i}.png")


def _setup(tmp_path, what):
    if "folders" in what:
        _images(tmp_path / "A", 4)
        _images(tmp_path / "B", 4, size=20)  # other sizes are resized
    if "empty" in what:
        (tmp_path / "E").mkdir()
    if "file" in what:
        (tmp_path / "notes.txt").write_text("x")
    if "run" in what:
        assert main([str(a) for a in ["translate-train", "--domain-a", tmp_path / "A", "--domain-b", tmp_path / "B", "--image-size", "8",
                     "--batch-size", "2", "--steps", "1", "--g-width", "2", "--n-res-blocks", "1", "--d-width", "2",
                     "--d-layers", "1", "--n-samples", "2", "--no-progress", "--device", "cpu", "--out", tmp_path / "run"]]) == 0
        _images(tmp_path / "in", 1)


TRAIN = ["translate-train", "--no-progress", "--device", "cpu", "--steps", "1"]
CASES = [
    # (setup, argv, exit code, fragment of the one-line error)
    ("folders", TRAIN + ["--domain-a", "{t}/missing", "--domain-b", "{t}/B", "--out", "{t}/r"], 2,
     "--domain-a {t}/missing: no such folder"),
    ("folders empty", TRAIN + ["--domain-a", "{t}/A", "--domain-b", "{t}/E", "--out", "{t}/r"], 2,
     "--domain-b: {t}/E: no images found"),
    ("folders file", TRAIN + ["--domain-a", "{t}/notes.txt", "--domain-b", "{t}/B", "--out", "{t}/r"], 2,
     "--domain-a {t}/notes.txt: not a folder"),
    ("folders", TRAIN + ["--domain-a", "{t}/A", "--out", "{t}/r"], 2, "--domain-b: missing"),
    ("folders", TRAIN + ["--domain-a", "{t}/A", "--domain-b", "{t}/B", "--image-size", "30", "--out", "{t}/r"], 2,
     "--image-size: 30 must be a multiple of 4"),
    ("folders", TRAIN + ["--domain-a", "{t}/A", "--domain-b", "{t}/B", "--image-size", "8", "--batch-size", "9",
                         "--out", "{t}/r"], 2, "--batch-size 9 is larger than the dataset"),
    ("folders", TRAIN + ["--domain-a", "{t}/A", "--domain-b", "{t}/B", "--style-dim", "4", "--out", "{t}/r"], 2,
     "--style-dim: not a setting of --model cyclegan"),
    ("folders", TRAIN + ["--domain-a", "{t}/A", "--domain-b", "{t}/B"], 2, "give exactly one of --out"),
    # declared ranges of the run and model settings, checked before anything is built
    ("folders", TRAIN + ["--domain-a", "{t}/A", "--domain-b", "{t}/B", "--g-width", "0", "--out", "{t}/r"], 2,
     "--g-width: must be at least 1, got 0"),
    ("folders", TRAIN + ["--domain-a", "{t}/A", "--domain-b", "{t}/B", "--pool-size", "-3", "--out", "{t}/r"], 2,
     "--pool-size: must be at least 0, got -3"),
    ("folders", TRAIN + ["--domain-a", "{t}/A", "--domain-b", "{t}/B", "--cycle-weight", "-1", "--out", "{t}/r"], 2,
     "--cycle-weight: must be at least 0, got -1"),
    ("folders", TRAIN + ["--domain-a", "{t}/A", "--domain-b", "{t}/B", "--lr", "0", "--out", "{t}/r"], 2,
     "--lr: must be greater than 0, got 0"),
    ("folders run", TRAIN + ["--resume", "{t}/run", "--image-size", "16"], 2,
     "--image-size 16: run {t}/run was trained with 8"),
    ("folders run", TRAIN + ["--domain-a", "{t}/A", "--domain-b", "{t}/B", "--image-size", "8", "--out", "{t}/run"], 2,
     "--out {t}/run: already holds a run"),
    ("folders run", ["translate", "{t}/run", "{t}/in/0.png", "--out", "{t}/o.png", "--n-styles", "3"], 2,
     "only munit runs have style codes"),
    ("folders run", ["translate", "{t}/run", "{t}/in/0.png", "--out", "{t}/in/0.png", "--overwrite"], 2,
     "{t}/in/0.png is one of the inputs"),
    ("folders run", ["translate", "{t}/run", "{t}/in/nothing.png", "--out", "{t}/o.png"], 2,
     "{t}/in/nothing.png: no such image file or folder"),
    ("folders run", ["translate", "{t}/run", "{t}/in", "{t}/A", "--out", "{t}/o.png"], 2,
     "--out {t}/o.png: one output file for 5 inputs"),
    ("folders run", ["translate", "{t}/A", "{t}/in/0.png", "--out", "{t}/o.png"], 2, "{t}/A: no checkpoint found"),
    ("folders run", ["translate-eval", "{t}/run", "--json", "{t}/A"], 2, "--json {t}/A: is a folder"),
    ("folders run", ["translate", "{t}/run", "{t}/in/0.png", "--out", "{t}/o.png", "--size", "30"], 2,
     "--size: 30 must be a multiple of 4"),
    ("folders run", ["translate-eval", "{t}/A"], 2, "{t}/A: no checkpoint found"),
]


@pytest.mark.parametrize("setup,argv,code,fragment", CASES, ids=[c[3][:40] for c in CASES])
def test_translate_failure_modes(tmp_path, capsys, setup, argv, code, fragment):
    _setup(tmp_path, setup)
    capsys.readouterr()
    got, err = run_cli([a.replace("{t}", str(tmp_path)) if isinstance(a, str) else a for a in argv], capsys)
    assert got == code
    assert fragment.replace("{t}", str(tmp_path)) in err
    assert len(err.splitlines()) == 1
