"""Dataclass configs: TOML/YAML round trips, errors naming the field, flag precedence."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from ganstyle.config import (
    add_dataclass_args,
    field,
    from_dict,
    read_config_file,
    resolve_config,
    write_config,
)
from ganstyle.errors import GanstyleError


@dataclasses.dataclass
class Tiny:
    lr: float = field(2e-4, help="learning rate")
    steps: int = field(100, help="optimizer steps")
    name: str = field("run", help="run name")
    ema: bool = field(True, help="keep an EMA generator")
    arch: str = field("dcgan", help="architecture", choices=("dcgan", "resnet"))
    seed: int | None = field(None, help="random seed")
    betas: tuple[float, ...] = field((0.0, 0.99), help="Adam betas")
    metrics: list[str] = field(["fid", "kid"], help="metrics to log")


@dataclasses.dataclass
class Outer:
    tiny: Tiny = dataclasses.field(default_factory=Tiny)
    title: str = field("x", help="")


ODD = Tiny(lr=1e-10, steps=3, name='quote " and é', ema=False, arch="resnet", seed=7,
           betas=(0.5, 0.999), metrics=["is"])


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_file_round_trip(tmp_path, suffix):
    path = write_config(tmp_path / f"c{suffix}", ODD, header="resolved config\nsecond line")
    assert path.read_text().startswith("# resolved config\n# second line\n")
    assert from_dict(Tiny, read_config_file(path)) == ODD
    default_path = write_config(tmp_path / f"d{suffix}", Tiny())
    assert from_dict(Tiny, read_config_file(default_path)) == Tiny()  # None fields are left out, then defaulted


def test_nested_round_trip_toml(tmp_path):
    outer = Outer(tiny=ODD, title="t")
    path = write_config(tmp_path / "o.toml", outer)
    assert "[tiny]" in path.read_text()
    assert from_dict(Outer, read_config_file(path)) == outer


def test_unknown_key_is_named():
    with pytest.raises(GanstyleError, match="unknown setting.*stpes.*Tiny"):
        from_dict(Tiny, {"stpes": 3, "lr": 0.1})


@pytest.mark.parametrize("data,message", [
    ({"steps": "many"}, "'steps': cannot use 'many' as int"),
    ({"steps": 1.5}, "'steps': cannot use 1.5 as int"),
    ({"lr": "fast"}, "'lr': cannot use 'fast' as float"),
    ({"ema": "maybe"}, "'ema': cannot use 'maybe' as bool"),
    ({"name": None}, "'name' may not be empty"),
    ({"arch": "vit"}, "--arch: 'vit' is not one of dcgan, resnet"),
])
def test_type_errors_name_the_field(data, message):
    with pytest.raises(GanstyleError) as info:
        from_dict(Tiny, data)
    assert message in str(info.value)


def test_coercions():
    obj = from_dict(Tiny, {"steps": "12", "lr": "0.5", "ema": "off", "betas": "0.1,0.2", "seed": None, "metrics": "fid"})
    assert (obj.steps, obj.lr, obj.ema, obj.betas, obj.seed, obj.metrics) == (12, 0.5, False, (0.1, 0.2), None, ["fid"])


def test_bad_files(tmp_path):
    (tmp_path / "bad.toml").write_text("lr = = 3\n")
    with pytest.raises(GanstyleError, match="bad.toml: cannot parse config"):
        read_config_file(tmp_path / "bad.toml")
    (tmp_path / "c.ini").write_text("[x]\n")
    with pytest.raises(GanstyleError, match="must be .toml"):
        read_config_file(tmp_path / "c.ini")
    with pytest.raises(GanstyleError, match="config file not found"):
        read_config_file(tmp_path / "missing.toml")


def parser_for(cls) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--config")
    add_dataclass_args(p, cls)
    return p


def test_flags_override_file_override_base_override_defaults(tmp_path):
    path = write_config(tmp_path / "c.toml", {"lr": 0.1, "steps": 5, "name": "from-file"})
    args = parser_for(Tiny).parse_args(["--steps", "7", "--no-ema", "--betas", "0.3,0.4", "--config", str(path)])
    cfg = resolve_config(Tiny, args, config_path=args.config, base={"name": "from-base", "arch": "resnet"})
    assert cfg.steps == 7           # flag beats file
    assert cfg.lr == 0.1            # file beats default
    assert cfg.name == "from-file"  # file beats base
    assert cfg.arch == "resnet"     # base beats default
    assert cfg.ema is False and cfg.betas == (0.3, 0.4)
    assert cfg.metrics == ["fid", "kid"] and cfg.seed is None  # untouched defaults
    plain = resolve_config(Tiny, parser_for(Tiny).parse_args([]))
    assert plain == Tiny()


def test_flag_parsing_errors_and_help(capsys):
    p = parser_for(Tiny)
    with pytest.raises(SystemExit):
        p.parse_args(["--steps", "ten"])
    with pytest.raises(SystemExit):
        p.parse_args(["--arch", "vit"])
    assert "invalid choice" in capsys.readouterr().err
    text = p.format_help()
    assert "learning rate (default: 0.0002)" in text and "--no-ema" in text


@dataclasses.dataclass
class Renamed:
    ckpt_every: int = field(10, ge=0, aliases=("checkpoint_every",), help="steps between checkpoints")
    labels: int | None = field(None, ge=0, le=9, flag="class", help="class to draw")


def test_old_names_are_accepted_with_a_deprecation_line(capsys):
    assert from_dict(Renamed, {"checkpoint_every": 5}, source="old.toml") == Renamed(ckpt_every=5)
    assert capsys.readouterr().err == "old.toml: setting 'checkpoint_every' is deprecated; use 'ckpt_every'\n"
    parser = argparse.ArgumentParser()
    add_dataclass_args(parser, Renamed)
    args = parser.parse_args(["--checkpoint-every", "7", "--class", "3"])
    assert resolve_config(Renamed, args) == Renamed(ckpt_every=7, labels=3)
    assert capsys.readouterr().err == "--checkpoint-every is deprecated; use --ckpt-every\n"
    assert "--checkpoint-every" not in parser.format_help()
    assert "class to draw; at least 0 and at most 9" in " ".join(parser.format_help().split())


def test_declared_ranges_are_checked_for_every_source(tmp_path):
    with pytest.raises(GanstyleError, match=r"^--class: must be at least 0 and at most 9, got 10$"):
        from_dict(Renamed, {"labels": 10}, source="command line")
    (tmp_path / "r.toml").write_text("ckpt_every = -1\n")
    with pytest.raises(GanstyleError, match=r"^--ckpt-every: must be at least 0, got -1 \(from .*r.toml\)$"):
        from_dict(Renamed, read_config_file(tmp_path / "r.toml"), source=str(tmp_path / "r.toml"))
    with pytest.raises(GanstyleError, match=r"t.toml: config field 'ckpt_every': cannot use True as int"):
        from_dict(Renamed, {"ckpt_every": True}, source="t.toml")


def test_model_family_tables_flags_and_flat_configs(tmp_path, capsys):
    from ganstyle.cli import build_parser
    from ganstyle.gan.config import TrainConfig, load_run_config

    # a config.toml as written before per-family tables existed: the family's knobs were flat
    run = tmp_path / "old_run"
    run.mkdir()
    (run / "config.toml").write_text('data = "digits"\nimage_size = 16\nmodel = "sagan"\nattn_res = 8\ng_sn = false\n'
                                     'steps = 10\nloss = "hinge"\n')
    old = load_run_config(run)
    assert (old.sagan.attn_res, old.sagan.g_sn, old.attn_res) == (8, False, None)
    # written back, only the chosen family's table appears, and it reads back the same
    from ganstyle.gan.config import config_file_dict

    path = write_config(tmp_path / "new.toml", config_file_dict(old))
    text = path.read_text()
    assert "[sagan]\nattn_res = 8\ng_sn = false\n" in text and "[sngan]" not in text and "attn_res = 8\n[" not in text
    assert from_dict(TrainConfig, read_config_file(path)) == old
    # generated dotted flags, and the flat alias, both set the chosen family's table; flags beat the file
    parser = build_parser()
    args = parser.parse_args(["train", "--config", str(path), "--sagan.g-sn", "--out", "x"])
    assert resolve_config(TrainConfig, args, config_path=path).sagan == type(old.sagan)(attn_res=8, g_sn=True)
    args = parser.parse_args(["train", "--config", str(path), "--attn-res", "4", "--out", "x"])
    assert resolve_config(TrainConfig, args, config_path=path).sagan.attn_res == 4
    args = parser.parse_args(["train", "--model", "dcgan", "--attn-res", "4", "--out", "x"])
    with pytest.raises(GanstyleError, match=r"^--attn-res: model 'dcgan' has no such setting$"):
        resolve_config(TrainConfig, args)
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--stylegan-lite.style-mixing STYLE_MIXING style-mixing probability in training; at least 0 and at most 1 (default: 0.9)" in help_text
