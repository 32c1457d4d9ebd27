"""Environment suites by env id, and the dataset collectors and commands some of them bring.

Every module in `lwd_core/envs/` registers itself when imported; `get_suite` imports them all on first use, so a new
suite is one new module (plus its presets in `config.py`) and nothing else names it: `lwd-studio` builds its `collect`
sub-commands from the collectors and adds one command per SuiteCommand (e.g. the locomotion suite's `behaviours`)."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..errors import LWDError
from ..plugins import discover
from ..types import EnvSuite

_SUITES: dict[str, Callable[[str], EnvSuite]] = {}      # exact env id -> suite factory
_FALLBACK: list[Callable[[str], EnvSuite]] = []         # tried for any other id (any gymnasium id)
_COLLECTORS: dict[str, "Collector"] = {}
_COMMANDS: dict[str, "SuiteCommand"] = {}


@dataclass(frozen=True)
class Collector:
    """`lwd-studio collect NAME`: `config` is a dataclass whose fields become the command's options (its field
    metadata "help" is the option's help); `collect(cfg, workers, result)` yields progress records and leaves the
    finished Dataset in result["dataset"]."""
    name: str
    description: str
    config: type
    collect: Callable[[Any, int, dict], Iterator[Any]]
    version: str = "1"               # bump whenever the same config would collect different data

    def provenance(self, cfg: Any) -> dict[str, str]:
        """What a file collected with `cfg` records in its attributes, and what reuse compares."""
        return {"collector_name": self.name, "collector_version": str(self.version),
                "collector_config": json.dumps(dataclasses.asdict(cfg), sort_keys=True)}

    def run(self, cfg: Any, workers: int, result: dict) -> Iterator[Any]:
        """collect(), then stamp the finished dataset with its provenance."""
        yield from self.collect(cfg, workers, result)
        result["dataset"].attrs.update(self.provenance(cfg))


@dataclass(frozen=True)
class SuiteAction:
    """One sub-command of a SuiteCommand. `config` is a dataclass whose fields become its options, as a Collector's
    do (field metadata: "help", and "type" where the default does not show it, e.g. a Path that defaults to None),
    or None for no options; `run(cfg)` (cfg None without a config) yields the lines the command prints."""
    name: str
    help: str
    config: type | None
    run: Callable[[Any], Iterator[str]]


@dataclass(frozen=True)
class SuiteCommand:
    """`lwd-studio NAME ACTION [options]`: a command a suite brings along, one SuiteAction per sub-command."""
    name: str
    help: str
    actions: tuple[SuiteAction, ...]


def register_suite(env_id: str | None, factory: Callable[[str], EnvSuite]) -> None:
    """env_id=None registers a fallback that accepts any id it can make (tried last, newest first)."""
    if env_id is None:
        _FALLBACK.insert(0, factory)
    else:
        _SUITES[env_id] = factory


def register_collector(c: Collector) -> None:
    _COLLECTORS[c.name] = c


def register_command(c: SuiteCommand) -> None:
    _COMMANDS[c.name] = c


def _discover() -> None:
    from .. import envs
    discover(envs, skip=("registry", "render"))


def get_suite(env_id: str) -> EnvSuite:
    if not isinstance(env_id, str) or not env_id:
        raise LWDError("no environment id: pass --env when training, or set `env_id` in the dataset")
    _discover()
    if env_id in _SUITES:
        return _SUITES[env_id](env_id)
    for f in _FALLBACK:
        return f(env_id)
    raise LWDError(f"no environment suite accepts {env_id!r}")


def as_suite_sees_it(ds, env_id: str):
    """The dataset as the env's policies see it: a suite may convert a file's observations (PushT's keypoints are
    computed from the stored 5-d states) with `adapt_dataset(ds)`. No env id: the dataset as it is."""
    if not env_id:
        return ds
    adapt = getattr(get_suite(env_id), "adapt_dataset", None)
    return adapt(ds) if adapt is not None else ds


def suite_names() -> list[str]:
    _discover()
    return sorted(_SUITES)


def collectors() -> dict[str, Collector]:
    _discover()
    return dict(sorted(_COLLECTORS.items()))


def get_collector(name: str) -> Collector:
    c = collectors()
    if name not in c:
        raise LWDError(f"unknown data source {name!r}; choose from {', '.join(c)}")
    return c[name]


def suite_commands() -> dict[str, SuiteCommand]:
    """Every suite's commands by name."""
    _discover()
    return dict(sorted(_COMMANDS.items()))
