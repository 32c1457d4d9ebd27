"""Methods by name (the `method` config value), as LeRobot registers its policies.

Each package in `lwd_core/methods/` registers a MethodSpec in its `__init__.py`. The spec names its trainer and its
inference loader as "module:function" strings, resolved on use, so loading a trained policy never imports training
code, and listing methods imports neither."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..config import RunConfig
from ..errors import ConfigError
from ..plugins import discover
from ..runs import RunDir, list_runs
from ..train.engine import guarded, open_run
from ..types import TrainedMethod

_METHODS: dict[str, "MethodSpec"] = {}


@dataclass(frozen=True)
class MethodSpec:
    name: str                        # the config's `method` value
    label: str                       # how tables and the app show it
    order: int                       # display order in tables and the app (ascending)
    phases: tuple[str, ...]          # training phases in order; each logs metrics under its name
    checkpoints: tuple[str, ...]     # checkpoint file stems, one per phase
    best: tuple[str, str]            # (phase, metric) whose minimum is the run list's "best" column
    trainer: str                     # "module:function": train(run, cfg, resume, cancel) -> Iterator[records]
    inference: str                   # "module:function": load(run_dir) -> TrainedMethod
    # where the app draws this method's metrics when they are not LWD's own: (phase, metric) -> LWD's metric name
    curves: dict[tuple[str, str], str] = field(default_factory=dict)
    train_section: str = "baseline"  # config section with its main optimiser's `steps` and `batch_size`
    kinds: dict[str, str] = field(default_factory=dict)   # policy kinds its evaluation reports -> display label
    description: str = ""

    def train_fn(self) -> Callable[..., Iterator[Any]]:
        return _resolve(self.trainer)

    def load(self, run_dir) -> TrainedMethod:
        return _resolve(self.inference)(run_dir)


def _resolve(ref: str):
    mod, fn = ref.split(":")
    return getattr(importlib.import_module(mod), fn)


def register_method(spec: MethodSpec) -> None:
    _METHODS[spec.name] = spec


def _discover() -> None:
    from .. import methods
    discover(methods, packages_only=True)


def get_method(name: str) -> MethodSpec:
    _discover()
    if name not in _METHODS:
        raise ConfigError(f"unknown method {name!r}; choose from {', '.join(method_names())}")
    return _METHODS[name]


def method_names() -> list[str]:
    """Registered methods in display order."""
    _discover()
    return [m.name for m in sorted(_METHODS.values(), key=lambda m: m.order)]


def kind_labels() -> dict[str, str]:
    """Display label of every policy kind of every method, plus the suites' scripted experts."""
    _discover()
    out = {}
    for m in sorted(_METHODS.values(), key=lambda m: m.order):
        out.update(m.kinds)
    return {**out, "expert": "scripted expert"}


def curve_fallbacks() -> dict[str, list[tuple[str, str]]]:
    """LWD metric name -> the (phase, metric) pairs of other methods drawn on the same panel."""
    _discover()
    out: dict[str, list[tuple[str, str]]] = {}
    for m in _METHODS.values():
        for src, dst in m.curves.items():
            out.setdefault(dst, []).append(src)
    return out


def train_run(run_dir: str, cfg: RunConfig | None = None, resume: bool = False,
              cancel: Callable[[], bool] = lambda: False) -> Iterator[Any]:
    """Train (or resume) a run of its configured method: StepRecord and PhaseEvent records. On resume, `cfg` may
    carry changes to the stored config (see train/engine.py:open_run for which are allowed)."""
    spec = get_method(cfg.method) if cfg is not None else None
    if resume and cfg is None and RunDir(run_dir).exists():
        spec = get_method(RunDir(run_dir).config().method)
    ckpts = tuple(f"{c}.safetensors" for c in spec.checkpoints) if spec else ()
    run, cfg = open_run(run_dir, cfg, resume, ckpts)
    return guarded(run, spec.train_fn()(run, cfg, resume, cancel))


def load_trained(run_dir) -> TrainedMethod:
    return get_method(RunDir(run_dir).config().method).load(run_dir)


def run_rows(runs_dir) -> list[dict[str, Any]]:
    """The run list with each method's best metric."""
    _discover()
    return list_runs(runs_dir, {m.name: m.best for m in _METHODS.values()})
