"""Shared collection machinery: progress records, episodes across worker processes, collect-if-missing."""
from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..data.hdf5 import save_dataset
from ..errors import ConfigError
from .registry import get_collector


@dataclass(frozen=True)
class CollectProgress:
    condition: str
    episode: int          # index within the condition
    done: int             # episodes finished overall
    total: int
    success: bool | None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                 # not Linux
        return os.cpu_count() or 1


def check_workers(workers: int | None) -> int:
    if workers is None:
        return usable_cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"`workers` must be an integer >= 1, got {workers!r}")
    return workers


def map_episodes(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int) -> Iterator[Any]:
    """fn(job) for every job, in order. Each job carries its own seeds, so results do not depend on `workers`.
    Worker processes are spawned (not forked): the parent may hold torch threads or a Qt event loop."""
    if workers <= 1 or len(jobs) <= 1:
        for j in jobs:
            yield fn(j)
        return
    ex = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=mp.get_context("spawn"))
    try:
        yield from ex.map(fn, jobs)
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def end_flags(n: int, terminated: bool) -> tuple[np.ndarray, np.ndarray]:
    """(terminals, timeouts) of an n-step episode in the D4RL layout: its last step ends it one way or the other."""
    term, tout = np.zeros(n, bool), np.zeros(n, bool)
    term[-1], tout[-1] = terminated, not terminated
    return term, tout


def ensure_dataset(path: str | Path, source: str, cfg: Any, workers: int) -> Iterator[CollectProgress]:
    """Collect `source` with `cfg` into `path` unless the file exists (then yield nothing)."""
    path = Path(path)
    if path.exists():
        return
    res: dict = {}
    yield from get_collector(source).collect(cfg, workers, res)
    save_dataset(res["dataset"], path)
