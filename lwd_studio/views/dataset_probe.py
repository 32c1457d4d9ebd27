"""What the run form shows about a dataset (its env_id, episodes and condition names). The window's JobManager
reads it off the GUI thread (`DatasetProbes` in jobs.py); this module owns no thread.

Reading a dataset decompresses and checks whole files, so the result is cached by each file's (path, size, mtime_ns):
a form opened again on an unchanged file, or a path typed back, costs a stat, and an edited file is read again."""
from __future__ import annotations

import os
from dataclasses import dataclass

from lwd_core.data.sources import load_source, parse_spec
from lwd_core.errors import LWDError


@dataclass(frozen=True)
class DatasetInfo:
    env_id: str = ""
    n_episodes: int = 0
    names: tuple[str, ...] = ()
    error: str = ""                   # why it cannot be used; "" when it can


_cache: dict[tuple, DatasetInfo] = {}


def _key(spec: str) -> tuple | None:
    """None when a file of the spec cannot be stat'ed: the answer (an error) is not cached, so it is read again
    once the file appears."""
    try:
        parts = parse_spec(spec)
        return (spec, tuple((p, st.st_size, st.st_mtime_ns) for p, _ in parts for st in [os.stat(p)]))
    except (LWDError, OSError):
        return None


def cached(spec: str) -> DatasetInfo | None:
    key = _key(spec)
    return None if key is None else _cache.get(key)


def inspect(spec: str) -> DatasetInfo:
    """Any thread. Never raises: a dataset that cannot be used comes back with its error."""
    key = _key(spec)
    if key is not None and key in _cache:
        return _cache[key]
    try:
        ds = load_source(spec)
        info = DatasetInfo(ds.env_id or "", len(ds.episode_bounds()), tuple(ds.condition_names()))
    except (LWDError, ValueError) as e:
        info = DatasetInfo(error=str(e))
    except Exception as e:            # in a thread an uncaught error would leave the form waiting for ever
        info = DatasetInfo(error=f"{type(e).__name__}: {e}")
    if key is not None:
        _cache[key] = info
    return info
