"""The work a plan's units do (plan.py names these by "module:function"). Each is a generator that yields the
records of its training, evaluation or collection, takes `cancel`, and returns the unit's result, or None when it
stopped before the end (cancelled: rerunning the study resumes it)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

from ..config import EvalConfig, RunConfig
from .common import StudyEvent, cached_eval, cancellable, ensure_data, ensure_trained


def collect(out: str, source: str, cfg: Any, workers: int, what: str = "",
            cancel: Callable[[], bool] = lambda: False) -> Iterator[Any]:
    data = yield from ensure_data(Path(out), source, cfg, workers, what)
    return str(data)


def train(run_dir: str, cfg: RunConfig, desc: str, cancel: Callable[[], bool] = lambda: False) -> Iterator[Any]:
    if cancel():
        return None
    finished = yield from ensure_trained(Path(run_dir), cfg, desc, cancel)
    return True if finished else None


def evaluate(run_dir: str, ecfg: EvalConfig, kinds: tuple[str, ...], path: str, workers: int, stage: str = "",
             message: str = "", cancel: Callable[[], bool] = lambda: False) -> Iterator[Any]:
    if cancel():
        return None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if message:
        yield StudyEvent(message, stage=stage)
    return (yield from cancellable(cached_eval(Path(run_dir), ecfg, kinds, Path(path), workers), cancel))
