"""Build frozen config dataclasses from TOML tables, checking every value against its type hint.

A generic loader beats hand-written checks here: every key of every table gets the same precise
message (file, dotted key, what was expected, what was found) and unknown keys (typos) are caught.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from sync.errors import ConfigError

T = TypeVar("T")


def build(cls: type[T], data: Mapping[str, Any], *, path: str, prefix: str = "") -> T:
    """Make `cls` from `data`; raise ConfigError naming the first wrong key."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a table, found {_describe(data)}", path=path, key=prefix)
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ConfigError(
            f"unknown key (expected one of: {', '.join(sorted(fields))})", path=path, key=where
        )
    values: dict[str, Any] = {}
    for name, fld in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name in data:
            values[name] = _convert(hints[name], data[name], path=path, key=key)
        elif fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing (expected {_expect(hints[name])})", path=path, key=key)
    return cls(**values)


def _convert(hint: Any, value: Any, *, path: str, key: str) -> Any:
    origin = get_origin(hint)
    args = get_args(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return build(hint, value, path=path, prefix=key)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path=path, key=key)
    if origin is Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise ConfigError(f"expected one of {allowed}, found {value!r}", path=path, key=key)
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"expected a list, found {_describe(value)}", path=path, key=key)
        item = args[0]
        return tuple(_convert(item, v, path=path, key=f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping) or origin is typing.Mapping:
        if not isinstance(value, Mapping):
            raise ConfigError(f"expected a table, found {_describe(value)}", path=path, key=key)
        vtype = args[1]
        return {str(k): _convert(vtype, v, path=path, key=f"{key}.{k}") for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"expected true or false, found {value!r}", path=path, key=key)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"expected a whole number, found {value!r}", path=path, key=key)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"expected a number, found {value!r}", path=path, key=key)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"expected a string, found {_describe(value)}", path=path, key=key)
        return value
    raise ConfigError(f"unsupported config type {hint!r}", path=path, key=key)  # pragma: no cover


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{value!r}"


def _expect(hint: Any) -> str:
    if dataclasses.is_dataclass(hint):
        return "a table"
    origin = get_origin(hint)
    if origin is tuple:
        return "a list"
    if origin in (dict, Mapping):
        return "a table"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(hint))
    return getattr(hint, "__name__", str(hint))
