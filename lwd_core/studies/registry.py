"""Studies (paper tables and figures) by name, for `lwd-studio reproduce NAME` and the app's Compare view.

Each module in `lwd_core/studies/` registers a StudySpec. A study declares its runs, trains and evaluates them
(resuming whatever an earlier invocation finished), aggregates, and writes `NAME.json`, `NAME.md` and `NAME.png`.
Its JSON carries a `report` table ({"title", "columns", "rows"}) that any viewer can show without study code."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ConfigError
from ..plugins import load_plugins

_STUDIES: dict[str, "StudySpec"] = {}
_DISCOVERED = False


@dataclass(frozen=True)
class StudyArgs:
    out: Path
    quick: bool = False
    seeds: int = 3
    episodes: int = 15                 # evaluation episodes per condition and seed
    workers: int = 1
    options: dict[str, Any] = field(default_factory=dict)   # the study's own options, by name


@dataclass(frozen=True)
class StudySpec:
    name: str
    title: str
    run: Callable[[StudyArgs], Iterator[Any]]
    # extra options: name -> (type, default, help); validate(args) raises ConfigError before anything is written
    options: dict[str, tuple[type, Any, str]] = field(default_factory=dict)
    validate: Callable[[StudyArgs], None] = lambda args: None


def register_study(spec: StudySpec) -> None:
    _STUDIES[spec.name] = spec


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    load_plugins()
    from .. import studies
    for m in pkgutil.iter_modules(studies.__path__):
        if m.name not in ("registry", "common", "report"):
            importlib.import_module(f"{studies.__name__}.{m.name}")


def get_study(name: str) -> StudySpec:
    _discover()
    if name not in _STUDIES:
        raise ConfigError(f"unknown study {name!r}; choose from {', '.join(sorted(_STUDIES))}")
    return _STUDIES[name]


def studies() -> dict[str, StudySpec]:
    _discover()
    return dict(sorted(_STUDIES.items()))
