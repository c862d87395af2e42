"""Subcommands generated from config dataclasses: every field is a flag, and no flag means the default."""

import dataclasses

import pytest

from ganstyle.cli import build_parser
from ganstyle.config import flag_name, resolve_config
from ganstyle.gan.config import TrainConfig
from ganstyle.gan.evaluation import EvalConfig
from ganstyle.gan.sampling import SampleConfig
from ganstyle.metrics.evaluate import FIDConfig

COMMANDS = [
    ("train", ["--out", "x"], TrainConfig),
    ("sample", ["RUN"], SampleConfig),
    ("eval", ["RUN"], EvalConfig),
    ("fid", ["A", "B"], FIDConfig),
]


def _flags(cls, prefix=""):
    """The flag of every field; a nested table's fields as dotted flags (--sagan.attn-res)."""
    for f in dataclasses.fields(cls):
        nested = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(nested):
            yield from _flags(type(nested), prefix=f"{f.name.replace('_', '-')}.")
        else:
            yield "--" + prefix + flag_name(f)[2:]


@pytest.mark.parametrize("command, required, cls", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_field_is_a_flag_and_defaults_match(command, required, cls, capsys):
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--help"])
    help_text = capsys.readouterr().out
    missing = [flag for flag in _flags(cls) if flag not in help_text]
    assert missing == []
    assert resolve_config(cls, parser.parse_args([command, *required])) == cls()


def test_a_generated_flag_sets_its_field():
    parser = build_parser()
    cfg = resolve_config(SampleConfig, parser.parse_args(["sample", "RUN", "--class", "3", "--batch-size", "7",
                                                          "--overwrite", "--device", "cpu"]))
    assert (cfg.labels, cfg.batch_size, cfg.overwrite, cfg.device) == (3, 7, True, "cpu")
    cfg = resolve_config(EvalConfig, parser.parse_args(["eval", "RUN", "--json", "r.json", "--no-log", "--precision", "bf16"]))
    assert (cfg.json_path, cfg.log, cfg.precision) == ("r.json", False, "bf16")
    cfg = resolve_config(TrainConfig, parser.parse_args(["train", "--out", "x", "--stylegan-lite.mapping-layers", "5"]))
    assert cfg.stylegan_lite.mapping_layers == 5


def test_help_defaults_are_read_from_the_model_files(monkeypatch, capsys):
    from ganstyle.gan.models import mlp

    monkeypatch.setitem(mlp.DEFAULTS, "g_lr", 0.0123)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "generator Adam learning rate; greater than 0 (default: 0.0002; 0.0123 for mlp" in help_text
    assert "(default: 0.0; 10.0 for --loss wgan-gp)" in help_text  # gp-weight, from LOSS_DEFAULTS
