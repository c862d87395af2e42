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
from typing import Any, Callable, TypeVar

from ganstyle.errors import GanstyleError
from ganstyle.io.images import atomic_write_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")


def field(default: Any = dataclasses.MISSING, *, help: str = "", choices: tuple | None = None,
          ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None,
          flag: str | None = None, aliases: tuple[str, ...] = (), default_text: Callable[[], str] | None = None,
          **kw) -> Any:
    """``dataclasses.field`` with what the CLI and the config boundary need.

    ``help`` and ``choices`` feed argparse; ``ge``/``gt``/``le``/``lt`` declare the valid range
    of a number (checked by :func:`validate` for flags, config files and Python alike); ``flag``
    names the CLI flag when it differs from the field (``--class`` for ``labels``); ``aliases``
    are old names still accepted, in files and as flags, with a one-line deprecation notice;
    ``default_text`` computes the "(default: ...)" of the help when the default depends on other
    settings (read from where those defaults are defined, never copied into the help by hand).
    """
    meta: dict[str, Any] = {"help": help}
    if choices is not None:
        meta["choices"] = choices
    bounds = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    if bounds:
        meta["range"] = bounds
    if flag:
        meta["flag"] = flag
    if aliases:
        meta["aliases"] = tuple(aliases)
    if default_text is not None:
        meta["default_text"] = default_text
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata=meta, **kw)
    return dataclasses.field(default=default, metadata=meta, **kw)


_RANGE_TEXT = {"ge": "at least {}", "gt": "greater than {}", "le": "at most {}", "lt": "less than {}"}
_RANGE_OK = {"ge": lambda v, b: v >= b, "gt": lambda v, b: v > b, "le": lambda v, b: v <= b, "lt": lambda v, b: v < b}


def range_text(f: dataclasses.Field) -> str:
    """The declared range of a field in words ("at least 1"), or ""."""
    return " and ".join(_RANGE_TEXT[k].format(v) for k, v in f.metadata.get("range", {}).items())


def validate(obj: Any, source: str = "", _prefix: str = "") -> Any:
    """Check every field's declared choices and range; one :class:`GanstyleError` line naming the flag.

    ``source`` (a config file) is named too, so the user knows where the bad value came from.
    Nested dataclasses are checked as well (named by their dotted flags). Returns ``obj``.
    """
    where = f" (from {source})" if source and source != "command line" else ""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            validate(value, source, f"{_prefix}{f.name.replace('_', '-')}.")
            continue
        if value is None:
            continue
        flag = "--" + _prefix + flag_name(f)[2:]
        choices = f.metadata.get("choices")
        if choices and value not in choices:
            raise GanstyleError(f"{flag}: {value!r} is not one of {', '.join(map(str, choices))}{where}")
        bounds = f.metadata.get("range", {})
        if bounds and isinstance(value, (int, float)) and not all(_RANGE_OK[k](value, b) for k, b in bounds.items()):
            raise GanstyleError(f"{flag}: must be {range_text(f)}, got {value}{where}")
    return obj


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
            # checked by the outer from_dict's validate, which names the dotted flag
            return value if isinstance(value, base) else from_dict(base, value, source=f"[{name}]", check=False)
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
        if base in (int, float) and isinstance(value, bool):
            raise ValueError(value)  # TOML `steps = true` must not become 1
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


def from_dict(cls: type[T], data: dict[str, Any], *, source: str = "config", check: bool = True) -> T:
    """Build ``cls`` from a plain dict, converting types and checking ranges; unknown keys are an error.

    Deprecated names (a field's ``aliases``) are accepted with a one-line notice.
    """
    if not isinstance(data, dict):
        raise GanstyleError(f"{source}: expected a table of settings, got {_kind(data)}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    data = dict(data)
    for f in fields.values():
        for old in f.metadata.get("aliases", ()):
            if old in data:
                print(f"{source}: setting {old!r} is deprecated; use {f.name!r}", file=sys.stderr)
                value = data.pop(old)
                data.setdefault(f.name, value)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise GanstyleError(f"{source}: unknown setting(s) {', '.join(unknown)} for {cls.__name__}")
    try:
        kwargs = {k: _coerce(v, hints[k], k) for k, v in data.items()}
    except GanstyleError as exc:
        raise GanstyleError(f"{source}: {exc}" if source != "command line" else str(exc)) from None
    obj = cls(**kwargs)
    return validate(obj, source) if check else obj


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean",
            type(None): "nothing"}.get(type(value), type(value).__name__)


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
    if path.suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise GanstyleError(f"{path}: config must be .toml, .yaml/.yml or .json")
    try:
        text = path.read_text()
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
            data = {} if data is None else data
    except Exception as exc:  # each parser has its own error type
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GanstyleError(f"{path}: cannot parse config ({reason})") from None
    if not isinstance(data, dict):
        raise GanstyleError(f"{path}: the top level must be a table of settings (name = value), not {_kind(data)}")
    return data


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


def flag_name(f: dataclasses.Field | str) -> str:
    """``--ckpt-every`` for field ``ckpt_every`` (or the field's own ``flag``)."""
    if isinstance(f, str):
        return "--" + f.replace("_", "-")
    return "--" + f.metadata.get("flag", f.name.replace("_", "-"))


class _DeprecatedFlag(argparse.Action):
    """An old flag name: stores into the new field and says so in one line."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{option_string} is deprecated; use {self.metadata_flag}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_dataclass_args(parser: argparse.ArgumentParser, cls: type, *, exclude: tuple[str, ...] = (),
                       prefix: str = "") -> None:
    """Add one flag per field of ``cls``. Flags default to *unset* so that a config file
    can fill what the command line leaves out (see :func:`resolve_config`). Help texts show
    the default and the declared range; a field's ``aliases`` become hidden deprecated flags.
    A nested dataclass field ``sagan`` gives dotted flags (``--sagan.attn-res``)."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        base, _ = _base_type(hints[f.name])
        if dataclasses.is_dataclass(base):
            add_dataclass_args(parser, base, prefix=f"{prefix}{f.name}.")
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        help_text = f.metadata.get("help", "")
        if range_text(f):
            help_text = f"{help_text}; {range_text(f)}"
        if f.metadata.get("default_text"):
            default = f.metadata["default_text"]()
        help_text = f"{help_text} (default: {default})" if default not in (None, "", []) else help_text
        kw: dict[str, Any] = {"dest": prefix + f.name, "default": argparse.SUPPRESS, "help": help_text.replace("%", "%%")}
        if base is bool:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["metavar"] = f.metadata.get("flag", f.name).upper().replace("-", "_")
            if typing.get_origin(base) in (list, tuple):
                kw["type"] = str  # comma-separated; coerced later
            elif base in (int, float, str):
                kw["type"] = base
            if f.metadata.get("choices"):
                kw["choices"] = f.metadata["choices"]
                kw.pop("metavar")
        flag = flag_name(f)
        if prefix:
            flag = "--" + prefix.replace("_", "-") + flag[2:]
        parser.add_argument(flag, **kw)
        for old in f.metadata.get("aliases", ()):
            action = parser.add_argument(flag_name(prefix + old), **{**kw, "help": argparse.SUPPRESS, "action": _DeprecatedFlag}
                                         if base is not bool else {**kw, "help": argparse.SUPPRESS})
            action.metadata_flag = flag


def resolve_config(cls: type[T], args: argparse.Namespace, *, config_path: str | Path | None = None,
                   base: dict[str, Any] | None = None) -> T:
    """defaults < ``base`` (e.g. a resumed run's config) < config file < explicit flags.

    The base and file layers are settled first (old names mapped, checked), so a flag wins
    over whatever spelling the file used; dotted flags (``--sagan.attn-res``) set one entry
    of a nested table.
    """
    source = str(config_path or "command line")
    data: dict[str, Any] = dict(base or {})
    if config_path:
        data.update(read_config_file(config_path))
    if data:
        data = to_dict(from_dict(cls, data, source=source))
    names = {f.name for f in dataclasses.fields(cls)}
    for key, value in vars(args).items():
        table, _, name = key.partition(".")
        if table not in names:
            continue
        if name:
            nested = data.get(table)
            data[table] = {**(to_dict(nested) if dataclasses.is_dataclass(nested) else nested or {}), name: value}
        else:
            data[key] = value
    return from_dict(cls, data, source="command line")
