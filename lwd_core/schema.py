"""Checked dataclass schemas: every config field states its type, limits and help once, here in its `field()`.

Why dataclasses and not pydantic: the configs already are dataclasses that the whole code base reads, the checks
needed are few (exact JSON types, ranges, choices, unknown keys), and one small module keeps them in the open.
The rules are strict on purpose: a bool is not an int, a string is not a bool, a float is not an int (1.7 is not
silently 1), and an int is accepted where a float is expected (JSON writes 1.0 as 1 in some tools).

The same descriptions feed the CLI's `train --help` key list and the app's form limits and tooltips."""
from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigError

_MISSING = dataclasses.MISSING


def setting(default: Any = _MISSING, help: str = "", *, default_factory: Any = _MISSING, ge: float | None = None,
            gt: float | None = None, le: float | None = None, lt: float | None = None,
            choices: tuple | None = None, nonempty: bool = False) -> Any:
    """A dataclass field with its documentation and limits (ge/gt/le/lt: bounds; choices: allowed values)."""
    meta = {"help": help, "ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices, "nonempty": nonempty}
    if default_factory is not _MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class FieldDoc:
    key: str            # "vae.steps"
    type: str           # "int", "float", "bool", "str", "list[int]"
    default: Any
    help: str
    limits: str         # "> 0", "one of: pad, refuse", ...
    meta: dict


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is tuple:
        return f"list[{typing.get_args(tp)[0].__name__}]"
    return getattr(tp, "__name__", str(tp))


def _limits_text(m: dict) -> str:
    parts = []
    if m.get("choices"):
        parts.append("one of: " + ", ".join(str(c) for c in m["choices"]))
    for k, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if m.get(k) is not None:
            parts.append(f"{op} {m[k]:g}")
    if m.get("nonempty"):
        parts.append("not empty")
    return ", ".join(parts)


def _check_scalar(key: str, tp: Any, v: Any) -> Any:
    """v checked against tp exactly; returns the value to store (ints become floats for float fields)."""
    if tp is bool:
        if type(v) is not bool:
            raise ConfigError(f"`{key}` must be true or false, got {v!r}")
        return v
    if tp is int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"`{key}` must be an integer, got {v!r}")
        return v
    if tp is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(f"`{key}` must be a number, got {v!r}")
        if not math.isfinite(v):
            raise ConfigError(f"`{key}` must be a finite number, got {v!r}")
        return float(v)
    if tp is str:
        if not isinstance(v, str):
            raise ConfigError(f"`{key}` must be a string, got {v!r}")
        return v
    raise TypeError(f"schema: unsupported field type {tp!r} for {key}")   # a programming error, not user input


_BOUNDS = {"ge": (lambda x, b: x >= b, ">="), "gt": (lambda x, b: x > b, ">"),
           "le": (lambda x, b: x <= b, "<="), "lt": (lambda x, b: x < b, "<")}


def _check_value(key: str, tp: Any, v: Any, m: dict) -> Any:
    if typing.get_origin(tp) is tuple:
        if not isinstance(v, (list, tuple)):
            raise ConfigError(f"`{key}` must be a list, got {v!r}")
        (inner, *_rest) = typing.get_args(tp)
        v = tuple(_check_scalar(f"{key}[{i}]", inner, x) for i, x in enumerate(v))
        if m.get("nonempty") and not v:
            raise ConfigError(f"`{key}` must not be empty")
        items = v
    else:
        v = _check_scalar(key, tp, v)
        if m.get("nonempty") and v == "":
            raise ConfigError(f"`{key}` must not be empty")
        items = (v,)
    for x in items:
        if m.get("choices") is not None and x not in m["choices"]:
            raise ConfigError(f"`{key}` must be one of {', '.join(map(str, m['choices']))}; got {x!r}")
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            for k, (holds, op) in _BOUNDS.items():
                if m.get(k) is not None and not holds(x, m[k]):
                    raise ConfigError(f"`{key}` must be {op} {m[k]:g}, got {x!r}")
    return v


def check_fields(obj: Any, section: str = "") -> None:
    """Validate (and normalise) every scalar field of a config dataclass in place; nested dataclass fields are
    validated by their own __post_init__."""
    hints = typing.get_type_hints(type(obj))
    for f in fields(obj):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            if not isinstance(getattr(obj, f.name), tp):
                raise ConfigError(f"`{section}{f.name}` must be an object")
            continue
        key = f"{section}{f.name}"
        object.__setattr__(obj, f.name, _check_value(key, tp, getattr(obj, f.name), dict(f.metadata)))


def _show(text: str) -> str:
    """A user-typed name inside a one-line message: control characters escaped."""
    return json.dumps(text)[1:-1]


def build(cls: type, d: Any, section: str = "") -> Any:
    """An instance of config dataclass `cls` from a JSON object: unknown keys and wrong kinds are named."""
    if not isinstance(d, dict):
        raise ConfigError(f"`{section.rstrip('.') or 'config'}` must be a JSON object, got {d!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    kw = {}
    for k, v in d.items():
        if k not in known:
            close = [n for n in known if n.startswith(str(k)[:3])]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"unknown config key `{_show(section + str(k))}`{hint}")
        tp = hints[k]
        kw[k] = build(tp, v, f"{section}{k}.") if dataclasses.is_dataclass(tp) else v
    return cls(**kw)


def describe(cls: type, section: str = "") -> list[FieldDoc]:
    """Every leaf field of a config dataclass, for help texts and forms."""
    out: list[FieldDoc] = []
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            out += describe(tp, f"{section}{f.name}.")
            continue
        default = f.default if f.default is not _MISSING else f.default_factory()     # type: ignore[misc]
        m = dict(f.metadata)
        out.append(FieldDoc(f"{section}{f.name}", _type_name(tp), default, m.get("help", ""), _limits_text(m), m))
    return out
