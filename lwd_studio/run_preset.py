"""The preset a run was made from. config.json holds the settings a preset only starts (a run's `name` replaces
the preset's own), so the preset is recorded beside them, in the run's status.json under "preset", which every
status write keeps (RunDir.set_status merges). The runs table shows it; "" for a run made before it was recorded,
from a config file, or by a study."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from lwd_core.io import atomic_write_json
from lwd_core.runs import RunDir


def record_preset(run_dir: str | Path, name: str) -> bool:
    """Record `name` in the run's status; False when there is no name or no run folder (yet)."""
    run = RunDir(run_dir)
    if not name or not run.exists():
        return False
    atomic_write_json(run.status_path, {**run.status(), "preset": name})
    return True


def run_preset(run_dir: str | Path) -> str:
    return str(RunDir(run_dir).status().get("preset") or "")


def recording_preset(gen: Iterator[Any], run_dir: str | Path, name: str | None) -> Iterator[Any]:
    """A new run's training records and return value, passed through; `name` is recorded as soon as the trainer
    has made the run's folder (on its first write, after every check that can refuse)."""
    done = not name
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            if not done:
                record_preset(run_dir, name)
            return stop.value
        if not done:
            done = record_preset(run_dir, name)
        yield rec
