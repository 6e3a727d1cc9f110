"""The settings engine: how a setting is declared (``setting``), checked, and built into its frozen dataclass
from YAML's values and flags. camscore.config holds the declarations; the jobs' own options use the same engine.

A section may list keys it once had (``RETIRED``, below): a file that still names one loads, with one warning
saying what took its place, instead of stopping at an unknown key.

A base module: it imports nothing of camscore but its errors, so that every job's --help stays light.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime as dt
import logging
import types
import typing
from dataclasses import field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import yaml

from camscore.errors import ConfigError

log = logging.getLogger(__name__)

# The class attribute a settings dataclass lists its retired keys in: ``RETIRED: ClassVar[Mapping[str, str]]``,
# each key mapped to what took its place (said in the warning).
RETIRED = "RETIRED"


def setting(default: Any = None, help: str = "", *, allowed: typing.Iterable[Any] = (),
            check: Callable[[Any], None] | None = None, parse: Callable[[Any], Any] | None = None,
            required: bool = False) -> Any:
    """Declares one setting: a dataclass field carrying what validates it and what its flag says.

    Args:
        default: the built-in default (a mapping default is copied per instance).
        help: what the setting means, shown by the jobs' --help.
        allowed: the only values allowed, when they are few.
        check: raises ValueError with the reason (``must be ...``) when a value is wrong.
        parse: turns the given value (a flag's string, YAML's value) into the setting's
            value, raising ValueError; the setting's type is then not checked.
        required: a flag that must be given, with no default (options of one command).
    """
    metadata = {"help": help, "allowed": tuple(allowed), "check": check, "parse": parse, "required": required}
    if required:
        return field(metadata=metadata)
    if isinstance(default, Mapping):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def positive(value: int) -> None:
    if value <= 0:
        raise ValueError("must be a positive integer")


def iso_date(value: str) -> None:
    dt.date.fromisoformat(value)


def probability(value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError("must be between 0 and 1")


def not_negative(value: int) -> None:
    if value < 0:
        raise ValueError("must be 0 or more")


def above_one(value: float) -> None:
    if value <= 1:
        raise ValueError("must be a number above 1")


def positive_seconds(value: float) -> None:
    if value <= 0:
        raise ValueError("must be a positive number of seconds")


def at_least_two(value: int) -> None:
    if value < 2:
        raise ValueError("must be at least 2")


def fraction_below_half(value: float) -> None:
    if not 0.0 < value < 0.5:
        raise ValueError("must be between 0 and 0.5")


def load(cls: type, path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None) -> Any:
    """An instance of a settings dataclass: built-in defaults, then the YAML file's sections, then overrides.

    Args:
        cls: the settings dataclass, one field per section.
        path: YAML file with sections named like the fields of ``cls``; None for defaults only.
        overrides: dotted keys such as ``"score.input"``; None values are ignored,
            so unset command-line flags leave the file's values alone.

    Raises:
        ConfigError: the file is missing or malformed, or a key or value is not allowed.
    """
    origin = str(path) if path else "built-in defaults"
    raw: dict[str, Any] = {}
    given = {dotted for dotted, value in (overrides or {}).items() if value is not None}
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"config file {path} must hold a mapping of sections, got {type(raw).__name__}")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        section_values = raw.setdefault(section, {})
        if not isinstance(section_values, dict):
            raise ConfigError(f"{origin}: section {section!r} must be a mapping")
        section_values[key] = value
    return build(cls, raw, origin=origin, overridden=given)




def declared(cls: type, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field, Any]]:
    """Every setting of a settings dataclass: its dotted key, its field and its type."""
    hints = typing.get_type_hints(cls)
    for item in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[item.name]):
            yield from declared(hints[item.name], f"{prefix}{item.name}.")
        else:
            yield prefix + item.name, item, hints[item.name]


def build(cls: type, values: Mapping[str, Any], *, origin: str, prefix: str = "",
          overridden: frozenset[str] | set[str] = frozenset()) -> Any:
    """An instance of a settings dataclass from plain values, each checked as its declaration says;
    an error names ``origin``, or the command line for the dotted keys in ``overridden``.

    A key the class lists as retired (``RETIRED``) is left out, with one warning naming it and what took its
    place.

    Raises:
        ConfigError: an unknown key, or a value its declaration does not allow.
    """
    retired = getattr(cls, RETIRED, {})
    for name in sorted(set(values) & set(retired)):
        log.warning("%s: %s%s is retired and ignored: %s", origin, prefix, name, retired[name])
    values = {name: value for name, value in values.items() if name not in retired}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        where = f"section {prefix.rstrip('.')!r}" if prefix else "the top level"
        raise ConfigError(
            f"{origin}: unknown key {prefix}{unknown[0]} in {where}; allowed keys: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        key = prefix + name
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: {key} must be a mapping of keys, got {value!r}")
            kwargs[name] = build(hint, value, origin=origin, prefix=key + ".", overridden=overridden)
        else:
            kwargs[name] = _checked(value, hint, fields[name].metadata,
                                    origin="command line" if key in overridden else origin, key=key)
    return cls(**kwargs)


def _checked(value: Any, hint: Any, declaration: Mapping[str, Any], *, origin: str, key: str) -> Any:
    optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{origin}: {key} must be set, got null")
    try:
        if declaration.get("parse"):
            return declaration["parse"](value)
        value = _typed(value, next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint)
        allowed = declaration.get("allowed")
        if allowed and value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}; got {value!r}")
        if declaration.get("check"):
            declaration["check"](value)
    except ValueError as exc:
        raise ConfigError(f"{origin}: {key} {exc}") from None
    return value


def _typed(value: Any, hint: Any) -> Any:
    kind = typing.get_origin(hint) or hint
    if kind is tuple and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    ok = {bool: lambda: isinstance(value, bool),
          int: lambda: isinstance(value, int) and not isinstance(value, bool),
          float: lambda: isinstance(value, (int, float)) and not isinstance(value, bool),
          str: lambda: isinstance(value, str),
          tuple: lambda: isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value),
          collections.abc.Mapping: lambda: isinstance(value, dict)}[kind]()
    if not ok:
        raise ValueError(f"must be {_DESCRIPTIONS[kind]}, got {value!r}")
    if kind is tuple:
        return tuple(value)
    if kind is collections.abc.Mapping:
        keep_values = typing.get_args(hint)[1:] == (Any,)
        return {str(k): (v if keep_values else str(v)) for k, v in value.items()}
    return value


_DESCRIPTIONS = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
                 tuple: "a list of strings", collections.abc.Mapping: "a mapping"}
