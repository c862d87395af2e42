"""Failure modes of checkpoints: damaged or malformed files met by ``train --resume``, ``sample`` and ``eval``.

One rule for all three: the newest checkpoint that verifies is used, and each newer one that
does not is reported in one warning line naming it and why. When none verifies, the command
exits 2 with one error line naming the newest file and why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganstyle.io.checkpoints import checkpoint_stem

from .conftest import assert_one_line_error


def _truncate(stem: Path) -> None:
    st = stem.with_suffix(".safetensors")
    st.write_bytes(st.read_bytes()[: st.stat().st_size // 2])


def _flip_byte(stem: Path) -> None:
    st = stem.with_suffix(".safetensors")
    data = bytearray(st.read_bytes())
    data[-5] ^= 0x40  # same size, different bytes
    st.write_bytes(bytes(data))


def _write_json(text: str):
    return lambda stem: stem.with_suffix(".json").write_text(text)


def _edit_meta(edit):
    def apply(stem: Path) -> None:
        path = stem.with_suffix(".json")
        meta = json.loads(path.read_text())
        path.write_text(json.dumps(edit(meta)))
    return apply


def _edit_state_entry(key: str, change):
    """Change (or with ``change=None`` drop) one entry of the stored state."""
    def edit(meta):
        pairs = meta["state"]["__dict__"]
        if change is None:
            meta["state"]["__dict__"] = [[k, v] for k, v in pairs if k != key]
        else:
            meta["state"]["__dict__"] = [[k, change(v) if k == key else v] for k, v in pairs]
        return meta
    return _edit_meta(edit)


def _bad_python_rng(rng):
    for pair in rng["__dict__"]:
        if pair[0] == "python":
            pair[1] = {"__tuple__": [3, [1, 2, 3], None]}  # an internal state of the wrong length
    return rng


def _unlink(suffix: str):
    return lambda stem: stem.with_suffix(suffix).unlink()


DAMAGE = {
    "truncated": (_truncate, "step_00000015.safetensors: truncated"),
    "same-size corruption": (_flip_byte, "step_00000015.safetensors: checksum mismatch"),
    "garbage JSON": (_write_json('{"format_version": 1, "tens'), "step_00000015.json: not valid JSON"),
    "binary JSON": (lambda s: s.with_suffix(".json").write_bytes(b"\xff\xfe\x00garbage"), "step_00000015.json: not valid JSON"),
    "JSON missing": (_unlink(".json"), "step_00000015.json: missing"),
    "tensors missing": (_unlink(".safetensors"), "step_00000015.safetensors: missing tensor file"),
    "format_version a string": (_edit_meta(lambda m: {**m, "format_version": "1"}), "format_version is a string"),
    "top level []": (_write_json("[]"), "step_00000015.json: not a ganstyle checkpoint description (the top level is an array"),
    "no step": (_edit_state_entry("step", None), "no 'step' entry"),
    "step a string": (_edit_state_entry("step", lambda v: "15"), 'step is "15", not a step count'),
    "malformed RNG entry": (_edit_state_entry("rng", _bad_python_rng), "malformed RNG entry 'python'"),
    "RNG not a table": (_edit_state_entry("rng", lambda v: [1, 2]), "RNG state is a list"),
    "model entry an array": (_edit_state_entry("model", lambda v: []), "not a ganstyle GAN checkpoint (bad 'config' or 'model'"),
}


def _command(kind: str, run: Path, tmp: Path) -> list:
    return {
        "resume": ["train", "--resume", run, "--steps", 20, "--no-progress"],
        "sample": ["sample", run, "--n", 8, "--out", tmp / "samples.npz"],
        "eval": ["eval", run, "--metrics", "modes", "--n", 100, "--no-log"],
    }[kind]


# (command, damage) -- the newest of three checkpoints is damaged: fall back to step 10 with a warning.
FALL_BACK = [
    ("resume", "truncated"), ("resume", "same-size corruption"), ("resume", "garbage JSON"),
    ("resume", "JSON missing"), ("resume", "no step"), ("resume", "malformed RNG entry"),
    ("sample", "truncated"), ("sample", "same-size corruption"), ("sample", "garbage JSON"),
    ("sample", "binary JSON"), ("sample", "tensors missing"), ("sample", "format_version a string"),
    ("sample", "top level []"), ("sample", "no step"),
    ("eval", "same-size corruption"), ("eval", "top level []"),
]

# (command, damage) -- every checkpoint is damaged: exit 2, one line naming the newest file and why.
NONE_VERIFIES = [
    ("resume", "truncated"), ("resume", "same-size corruption"), ("resume", "garbage JSON"),
    ("resume", "format_version a string"), ("resume", "top level []"), ("resume", "no step"),
    ("resume", "step a string"), ("resume", "malformed RNG entry"), ("resume", "RNG not a table"),
    ("sample", "format_version a string"), ("sample", "top level []"), ("sample", "no step"),
    ("sample", "step a string"), ("sample", "same-size corruption"),
    ("eval", "format_version a string"), ("eval", "top level []"), ("eval", "no step"), ("eval", "garbage JSON"),
]


@pytest.mark.parametrize("kind,damage", FALL_BACK, ids=[f"{k}-{d}" for k, d in FALL_BACK])
def test_damaged_newest_checkpoint_falls_back_with_one_line(kind, damage, gan_run, tmp_path, run_cli):
    breaker, fragment = DAMAGE[damage]
    breaker(checkpoint_stem(gan_run / "checkpoints", 15))
    result = run_cli(_command(kind, gan_run, tmp_path))
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "Traceback" not in result.err, result.err
    assert fragment in warnings[0]
    assert warnings[0].startswith("warning: skipping checkpoint step_00000015: ")
    assert warnings[0].endswith("; using step_00000010 instead")
    if kind == "resume":  # continued from step 10, not from scratch and not from the damaged 15
        from ganstyle.io.runlog import read_csv

        steps = [int(r["step"]) for r in read_csv(gan_run / "metrics.csv")]
        assert steps == [5, 10, 15, 20]
        assert (gan_run / "checkpoints" / "step_00000020.json").exists()


@pytest.mark.parametrize("kind,damage", NONE_VERIFIES, ids=[f"{k}-{d}" for k, d in NONE_VERIFIES])
def test_no_checkpoint_verifies_is_one_line_naming_the_file(kind, damage, gan_run, tmp_path, run_cli):
    breaker, fragment = DAMAGE[damage]
    for step in (5, 10, 15):
        breaker(checkpoint_stem(gan_run / "checkpoints", step))
    result = run_cli(_command(kind, gan_run, tmp_path))
    assert_one_line_error(result, fragment)
    assert "step_00000015" in result.error_line and "older ones do not verify either" in result.error_line


# A checkpoint named directly (not a run directory) is loaded as given: no fallback, one line.
DIRECT = ["truncated", "same-size corruption", "garbage JSON", "format_version a string", "no step",
          "malformed RNG entry", "model entry an array"]


@pytest.mark.parametrize("damage", DIRECT)
def test_sample_from_a_named_damaged_checkpoint(damage, gan_run, tmp_path, run_cli):
    breaker, fragment = DAMAGE[damage]
    stem = checkpoint_stem(gan_run / "checkpoints", 15)
    breaker(stem)
    assert_one_line_error(run_cli(["sample", stem.with_suffix(".json"), "--n", 4, "--out", tmp_path / "s.npz"]),
                          fragment)
