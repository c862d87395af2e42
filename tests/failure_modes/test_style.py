"""Failure modes of the style commands (stylize, style-eval, train-style, export-style).

One row per case: the command line ({content}, {style}, {tmp}, {fast}, {adain} are filled in),
the exit code, and a fragment of the one error line the user must see. Every row also checks
that nothing ran: no traceback, one error line, and (for stylize) no output written.
"""

from __future__ import annotations

import os
import shlex

import pytest
import torch

from ganstyle.cli import main
from ganstyle.io.images import save_image
from ganstyle.style.model import StyleTrainConfig
from ganstyle.style.train import train_style

QUICK = "--iterations 1 --backbone random --quiet --size 32"
TRAIN = "train-style --method fast --style {style} --content-dir {tmp} --out {tmp}/run --backbone random"

CASES = [
    # --size: a clear range for every method, never silently the default
    ("stylize {content} {style} --out {tmp}/o.png --size 0 " + QUICK.replace("--size 32", ""), 2,
     "--size 0: the output's long side must be at least 16 and at most 16384 pixels"),
    ("stylize {content} --method fast --model {fast} --out {tmp}/o.png --size 0", 2,
     "--size 0: the output's long side must be at least 8 and at most 16384 pixels"),
    ("stylize {content} --method fast --model {fast} --out {tmp}/o.png --size 100000", 2,
     "--size 100000: the output's long side must be at least 8 and at most 16384"),
    ("stylize {content} {style} --method adain --model {adain} --out {tmp}/o.png --size 100000", 2,
     "--size 100000: the output's long side must be at least 8 and at most 16384"),
    # --out is checked before any work
    ("stylize {content} {style} --out {tmp}/result.txt " + QUICK, 2, "cannot write '.txt' files; use .png"),
    ("stylize {content} {style} --out {tmp}/result " + QUICK, 2, "cannot write 'a file without extension' files"),
    ("stylize {content} {style} --out {tmp}/no/such/folder/o.png " + QUICK, 2,
     "cannot write the file (folder {tmp}/no/such/folder does not exist)"),
    ("stylize {content} {style} --out {tmp} " + QUICK, 2, "--out {tmp}: is a folder"),
    ("stylize {content} {style} --out {content} --overwrite " + QUICK, 2, "refusing to overwrite the input {content}"),
    ("stylize {content} {style} --out {tmp}/exists.png " + QUICK, 2,
     "--out {tmp}/exists.png: file exists; pass --overwrite to replace it"),
    ("stylize {content} {style} --out {tmp}/o.jpg --keep-alpha " + QUICK, 2, "cannot store the kept alpha channel"),
    # inputs: a symlink loop is named, never a traceback
    ("stylize {tmp}/loop_a.png {style} --out {tmp}/o.png " + QUICK, 2, "{tmp}/loop_a.png: "),
    ("stylize {content} {tmp}/loop_a.png --out {tmp}/o.png " + QUICK, 2, "{tmp}/loop_a.png: "),
    ("stylize {tmp}/loop_a.png --method fast --model {fast} --out {tmp}/o.png", 2, "{tmp}/loop_a.png: "),
    # flags that the method does not use, or cannot use
    ("stylize {content} --method fast --model {fast} --out {tmp}/o.png --iterations 5", 2,
     "--iterations: not used by --method fast"),
    ("stylize {content} {style} --method fast --model {fast} --out {tmp}/o.png", 2, "give no style image"),
    ("stylize {content} {style} --method adain --model {fast} --out {tmp}/o.png", 2,
     "is a --method fast model, not adain; use --method fast"),
    ("stylize {content} --method fast --model {fast} --out {tmp}/o.png --tile -1", 2, "--tile -1: must be 0"),
    ("stylize {content} {style} --out {tmp}/o.png --precision fp16 --device cpu " + QUICK, 2,
     "--precision fp16 needs a CUDA device"),
    ("stylize {content} --method adain --model {adain} --out {tmp}/o.png", 2,
     "--method adain needs at least one style image"),
    # the other style commands follow the same output rule
    ("style-eval {content} {content} {style} --backbone random --json {tmp}/exists.png", 2,
     "--json {tmp}/exists.png: cannot write '.png' files; use .json"),
    ("style-eval {content} {content} {style} --backbone random --json {tmp}/exists.json", 2,
     "--json {tmp}/exists.json: file exists; pass --overwrite"),
    ("export-style {fast} --out {tmp}/exists.pt", 2, "--out {tmp}/exists.pt: file exists; pass --overwrite"),
    ("export-style {fast} --out {fast}/final.safetensors --overwrite", 2, "refusing to overwrite the input"),
    ("train-style --method fast --style {style} --content-dir {tmp} --out {fast}", 2,
     "already holds a run; continue it with --resume"),
    ("train-style --resume {tmp}/missing", 2, "--resume {tmp}/missing: no such run directory"),
    (TRAIN + " --image-size 0", 2, "--image-size: must be positive, got 0"),
    (TRAIN + " --ckpt-every -1", 2, "--ckpt-every: must be 0 or more, got -1"),
    (TRAIN + " --keep-checkpoints -2", 2, "--keep-checkpoints: must be 0 or more, got -2"),
    (TRAIN + " --sample-every -5", 2, "--sample-every: must be 0 or more, got -5"),
    (TRAIN + " --steps 0", 2, "--steps: must be positive, got 0"),
]


def run_cli(capsys, argv):
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("style_models")
    for sub in ("content", "styles"):
        (tmp / sub).mkdir()
    for i in range(2):
        gen = torch.Generator().manual_seed(i)
        save_image(torch.rand(3, 40, 40, generator=gen), tmp / "content" / f"c{i}.png")
        save_image(torch.rand(3, 40, 40, generator=gen) ** 3, tmp / "styles" / f"s{i}.png")
    common = dict(backbone="random", steps=1, batch_size=2, image_size=32, width=8, log_every=1, sample_every=0,
                  ckpt_every=0, device="cpu", precision="fp32", content_dir=str(tmp / "content"))
    fast = train_style(StyleTrainConfig(method="fast", out=str(tmp / "fast"), style=str(tmp / "styles" / "s0.png"),
                                        style_size=32, res_blocks=1, **common), progress=False)
    adain = train_style(StyleTrainConfig(method="adain", out=str(tmp / "adain"), style_dir=str(tmp / "styles"),
                                         **common), progress=False)
    return tmp, fast, adain


@pytest.mark.parametrize("command, code, fragment", CASES, ids=[c[2][:40] for c in CASES])
def test_style_failure(models, tmp_path, capsys, command, code, fragment):
    data, fast, adain = models
    (tmp_path / "loop_a.png").symlink_to(tmp_path / "loop_b.png")
    (tmp_path / "loop_b.png").symlink_to(tmp_path / "loop_a.png")
    for name in ("exists.png", "exists.json", "exists.pt"):
        (tmp_path / name).write_bytes(b"keep me")
    names = dict(content=data / "content" / "c0.png", style=data / "styles" / "s1.png", tmp=tmp_path, fast=fast,
                 adain=adain)
    before = sorted(os.listdir(tmp_path))
    got, err = run_cli(capsys, shlex.split(command.format(**names)))
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert got == code and "Traceback" not in err and len(lines) == 1, err
    assert fragment.format(**names) in lines[0], lines[0]
    assert sorted(os.listdir(tmp_path)) == before  # nothing was written
    assert (tmp_path / "exists.png").read_bytes() == b"keep me"
