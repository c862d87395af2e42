"""Dataclass configs shared by Python keyword arguments, config files and CLI flags.

One dataclass per component; fields carry their help text in ``metadata["help"]``.
:func:`add_dataclass_args` turns a dataclass into argparse flags, :func:`resolve_config`
merges *defaults < config file < explicit flags*, and :func:`write_config` stores the
resolved result (TOML or YAML) so that ``--config RUN/config.toml`` reproduces a run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from ganstyle.errors import GanstyleError
from ganstyle.io.images import atomic_write_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")


def field(default: Any = dataclasses.MISSING, *, help: str = "", choices: tuple | None = None, **kw) -> Any:
    """``dataclasses.field`` with help text (and optional choices) for the CLI."""
    meta = {"help": help}
    if choices is not None:
        meta["choices"] = choices
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata=meta, **kw)
    return dataclasses.field(default=default, metadata=meta, **kw)


def _base_type(tp: Any) -> tuple[Any, bool]:
    """(underlying type, optional?) for annotations like ``int | None``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (args[0] if len(args) == 1 else str), True
    return tp, False


def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, tp: Any, name: str) -> Any:
    base, optional = _base_type(tp)
    if value is None:
        if optional:
            return None
        raise GanstyleError(f"config field {name!r} may not be empty")
    origin = typing.get_origin(base)
    try:
        if dataclasses.is_dataclass(base):
            return from_dict(base, value)
        if origin in (list, tuple):
            (item,) = typing.get_args(base)[:1] or (str,)
            if isinstance(value, str):
                value = [v for v in value.split(",") if v.strip()]
            out = [_coerce(v, item, name) for v in value]
            return tuple(out) if origin is tuple else out
        if base is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if base is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if base is float:
            return float(value)
        if base is str:
            return str(value)
    except (TypeError, ValueError):
        raise GanstyleError(f"config field {name!r}: cannot use {value!r} as {getattr(base, '__name__', base)}") from None
    return value


def from_dict(cls: type[T], data: dict[str, Any], *, source: str = "config") -> T:
    """Build ``cls`` from a plain dict, converting types; unknown keys are an error."""
    if not isinstance(data, dict):
        raise GanstyleError(f"{source}: expected a table of settings, got {type(data).__name__}")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise GanstyleError(f"{source}: unknown setting(s) {', '.join(unknown)} for {cls.__name__}")
    kwargs = {k: _coerce(v, hints[k], k) for k, v in data.items()}
    obj = cls(**kwargs)
    _validate_choices(obj)
    return obj


def _validate_choices(obj: Any) -> None:
    for f in dataclasses.fields(obj):
        choices = f.metadata.get("choices")
        value = getattr(obj, f.name)
        if choices and value is not None and value not in choices:
            raise GanstyleError(f"--{f.name.replace('_', '-')}: {value!r} is not one of {', '.join(map(str, choices))}")


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


# ------------------------------------------------------------------ files


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            return {True: "nan"}.get(v != v, "inf" if v > 0 else "-inf")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps_toml(data: dict[str, Any], _prefix: str = "") -> str:
    """Minimal TOML writer for config dicts (scalars, lists, nested tables; None omitted)."""
    lines, tables = [], []
    for k, v in data.items():
        if v is None:
            continue
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    out = "\n".join(lines)
    for k, v in tables:
        name = f"{_prefix}{k}"
        out += f"\n\n[{name}]\n" + dumps_toml(v, name + ".")
    return out.strip("\n") + "\n"


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a ``.toml``, ``.yaml``/``.yml`` or ``.json`` config into a dict."""
    path = Path(path)
    if not path.is_file():
        raise GanstyleError(f"{path}: config file not found")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        if path.suffix in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text) or {}
        if path.suffix == ".json":
            return json.loads(text)
    except Exception as exc:  # each parser has its own error type
        raise GanstyleError(f"{path}: cannot parse config ({exc})") from None
    raise GanstyleError(f"{path}: config must be .toml, .yaml/.yml or .json")


def write_config(path: str | Path, config: Any, header: str = "") -> Path:
    """Write a dataclass (or dict) as TOML or YAML, chosen by suffix; atomic."""
    path = Path(path)
    data = to_dict(config) if dataclasses.is_dataclass(config) else dict(config)
    if path.suffix in (".yaml", ".yml"):
        import yaml

        text = yaml.safe_dump(data, sort_keys=False)
    else:
        text = dumps_toml(data)
    if header:
        text = "".join(f"# {line}\n" for line in header.splitlines()) + text
    return atomic_write_text(path, text)


# ------------------------------------------------------------------ argparse


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def add_dataclass_args(parser: argparse.ArgumentParser, cls: type, *, exclude: tuple[str, ...] = ()) -> None:
    """Add one flag per field of ``cls``. Flags default to *unset* so that a config file
    can fill what the command line leaves out (see :func:`resolve_config`)."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        base, _ = _base_type(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        help_text = f.metadata.get("help", "")
        help_text = f"{help_text} (default: {default})" if default not in (None, "", []) else help_text
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text}
        if base is bool:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["metavar"] = f.name.upper()
            if typing.get_origin(base) in (list, tuple):
                kw["type"] = str  # comma-separated; coerced later
            elif base in (int, float, str):
                kw["type"] = base
            if f.metadata.get("choices"):
                kw["choices"] = f.metadata["choices"]
                kw.pop("metavar")
        parser.add_argument(flag_name(f.name), **kw)


def resolve_config(cls: type[T], args: argparse.Namespace, *, config_path: str | Path | None = None,
                   base: dict[str, Any] | None = None) -> T:
    """defaults < ``base`` (e.g. a resumed run's config) < config file < explicit flags."""
    data: dict[str, Any] = dict(base or {})
    if config_path:
        data.update(read_config_file(config_path))
    names = {f.name for f in dataclasses.fields(cls)}
    data.update({k: v for k, v in vars(args).items() if k in names})
    return from_dict(cls, data, source=str(config_path or "command line"))
