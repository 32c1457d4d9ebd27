"""Shared collection machinery: progress records, episodes across worker processes, and collect-or-reuse with
the provenance every collected file records (collector, version, config)."""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import h5py
import numpy as np

from ..data.hdf5 import save_dataset
from ..errors import ConfigError, DatasetError
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


PROVENANCE_KEYS = ("collector_name", "collector_version", "collector_config")


def read_provenance(path: str | Path) -> dict[str, str]:
    """The collector, its version and its config as a file records them; {} for a file that records none (made
    elsewhere, or before files recorded them)."""
    try:
        with h5py.File(path, "r") as f:
            raw = {k: f.attrs[k] for k in PROVENANCE_KEYS if k in f.attrs}
    except OSError:
        raise DatasetError(f"{path}: not a readable HDF5 file") from None
    return {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in raw.items()}


def dataset_file(folder: str | Path, source: str, cfg: Any) -> Path:
    """Where `ensure_dataset` keeps `source` collected with `cfg` in `folder`: the name carries a digest of the
    provenance, so data collected with other settings (a --quick study's, say) never takes the same file."""
    prov = get_collector(source).provenance(cfg)
    digest = hashlib.sha256(json.dumps(prov, sort_keys=True).encode()).hexdigest()[:10]
    return Path(folder) / f"{source}-{digest}.h5"


def describe_differences(have: dict[str, str], want: dict[str, str]) -> str:
    """'episodes_per_task 3, not 40; collector version 1, not 2' (or why nothing can be compared)."""
    if not have:
        return "it records no collector settings"
    if have.get("collector_name") != want["collector_name"]:
        return f"collector {have.get('collector_name')!r}, not {want['collector_name']!r}"
    out = []
    if have.get("collector_version") != want["collector_version"]:
        out.append(f"collector version {have.get('collector_version')}, not {want['collector_version']}")
    try:
        a, b = json.loads(have.get("collector_config", "")), json.loads(want["collector_config"])
    except ValueError:
        return "its collector settings are unreadable"
    out += [f"{k} {a.get(k)!r}, not {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return "; ".join(out)


def ensure_dataset(path: str | Path, source: str, cfg: Any, workers: int) -> Iterator[CollectProgress]:
    """Collect `source` with `cfg` into `path`, or reuse the file there when it records exactly this collector,
    version and config. A file collected any other way is refused with both settings named, never reused
    silently (studies and the demo pass `dataset_file(...)`, so other settings get a file of their own)."""
    path = Path(path)
    col = get_collector(source)
    want = col.provenance(cfg)
    if path.exists():
        have = read_provenance(path)
        if have == want:
            return
        raise ConfigError(f"{path} was collected with other settings ({describe_differences(have, want)}): "
                          "delete it or use another folder")
    res: dict = {}
    yield from col.run(cfg, workers, res)
    save_dataset(res["dataset"], path)
