"""Studies (paper tables and figures) by name, for `lwd-studio reproduce NAME` and the app's Compare view.

Each module in `lwd_core/studies/` registers a StudySpec. A study declares a plan of its units of work (plan.py:
collecting its data, each training and each evaluation, and what each needs); an executor runs it (executors.py),
resuming whatever an earlier invocation finished; the study aggregates the results and writes `NAME.json`,
`NAME.md` and `NAME.png`. Its JSON carries a `report` table ({"title", "columns", "rows"}) that any viewer can show
without study code."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ConfigError
from ..plugins import discover
from .common import StudyResult
from .driver import run_study
from .plan import Plan, Unit

_STUDIES: dict[str, "StudySpec"] = {}


@dataclass(frozen=True)
class StudyArgs:
    out: Path
    quick: bool = False
    seeds: int = 3
    episodes: int = 15                 # evaluation episodes per condition and seed
    workers: int = 1
    options: dict[str, Any] = field(default_factory=dict)   # the study's own options, by name
    cancel: Callable[[], bool] = lambda: False               # checked between units and between steps
    cores: int = 0                     # the cores its units share (`reproduce --jobs N`: N x workers); 0: workers

    @property
    def collect_workers(self) -> int:
        """A collection simulates on every core the study has: everything else waits for its data, and each episode
        carries its own seeds, so the data do not depend on how many workers made them."""
        return max(self.workers, self.cores)


@dataclass(frozen=True)
class StudySpec:
    name: str
    title: str
    plan: Callable[[StudyArgs], Plan]
    # aggregates the units' results (unit name -> result) and writes the study's files
    finish: Callable[[StudyArgs, Plan, dict[str, Any]], StudyResult]
    # extra options: name -> (type, default, help); validate(args) raises ConfigError before anything is written
    options: dict[str, tuple[type, Any, str]] = field(default_factory=dict)
    validate: Callable[[StudyArgs], None] = lambda args: None
    # the study's own defaults for the common arguments, e.g. {"seeds": 1, "episodes": 50}
    defaults: dict[str, Any] = field(default_factory=dict)
    # events (and live points, for views that draw them) after each finished unit: (args, plan, results, unit)
    progress: Callable[[StudyArgs, Plan, dict[str, Any], Unit], Iterator[Any]] | None = None

    def default(self, name: str) -> Any:
        return self.defaults.get(name, getattr(StudyArgs, name))

    def run(self, args: StudyArgs, executor: Any = None) -> Iterator[Any]:
        """Plan, execute (default: executors.Local, one unit after another in this process) and report; returns
        the StudyResult."""
        return run_study(self, args, executor)


def register_study(spec: StudySpec) -> None:
    _STUDIES[spec.name] = spec


def _discover() -> None:
    from .. import studies
    discover(studies, skip=("registry", "common", "vae_runs", "plan", "units", "executors", "ray_executor", "driver"))


def get_study(name: str) -> StudySpec:
    _discover()
    if name not in _STUDIES:
        raise ConfigError(f"unknown study {name!r}; choose from {', '.join(sorted(_STUDIES))}")
    return _STUDIES[name]


def studies() -> dict[str, StudySpec]:
    _discover()
    return dict(sorted(_STUDIES.items()))
