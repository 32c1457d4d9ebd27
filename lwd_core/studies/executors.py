"""Executors run a study's plan (plan.py): in this process one unit after another (`local`, the default), in N
local processes (`local --jobs N`), or as Ray tasks (`ray`, ray_executor.py). Every one yields the records of the
work as it goes and a UnitDone per finished unit; the study's driver (driver.py) aggregates those.

Results do not depend on the executor: each unit is seeded by its own config, writes only its own run folder
(the run's claim, runs.py, refuses a second trainer), reads what the units it needs left there, and computes with
as many torch threads as it has cores (`Unit.cpus`) wherever it runs, since a float sum split over another number
of threads may round differently.

The local executor is what `reproduce` always did: a unit's failure is raised as it is. The others keep running
the units that do not depend on a failed one, then raise one error naming every failed unit."""
from __future__ import annotations

import importlib
import inspect
import multiprocessing as mp
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch

from ..envs.collect import usable_cores
from ..errors import ConfigError, LWDError
from .common import StudyEvent
from .plan import Plan, Unit


@dataclass(frozen=True)
class UnitDone:
    """A unit finished; `result` is None when it stopped before its end (cancelled: a rerun resumes it)."""
    unit: Unit
    result: Any


def unit_threads(unit: Unit) -> int:
    """The torch threads of a unit: its cores, at most OMP_NUM_THREADS where that is set (an explicit limit on a
    shared machine; spawned processes and a Ray instance started here inherit it, so all executors agree)."""
    cap = os.environ.get("OMP_NUM_THREADS", "")
    n = max(1, int(unit.cpus))
    return min(n, int(cap)) if cap.isdigit() and int(cap) > 0 else n


def execute(unit: Unit, cancel: Callable[[], bool]) -> Iterator[Any]:
    """Run one unit here, with unit_threads(unit) torch threads: its records pass through, its result is
    returned."""
    mod, fn = unit.fn.split(":")
    threads = torch.get_num_threads()
    torch.set_num_threads(unit_threads(unit))
    try:
        out = getattr(importlib.import_module(mod), fn)(**unit.args, cancel=cancel)
        if inspect.isgenerator(out):
            out = yield from out
        return out
    finally:
        torch.set_num_threads(threads)


def run_to_end(unit: Unit, cancel: Callable[[], bool]) -> tuple[Any, list[str]]:
    """A unit in a worker process or a Ray task: its result, and the messages among its records (what it trained,
    resumed or reused), which the executor prints when the unit is back. Step records stay there: the run folder
    holds its metrics."""
    gen = execute(unit, cancel)
    said: list[str] = []
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            return stop.value, said
        if getattr(rec, "message", ""):
            said.append(rec.message)


def one_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0]}" if msg else type(e).__name__


class Schedule:
    """Which units may start: those whose needs have finished. A failed unit takes the units that need it along."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.chain = plan.chain_costs()
        self.waiting = list(plan.units)
        self.done: set[str] = set()
        self.failed: dict[str, str] = {}          # unit name -> why, in the order they failed
        self.skipped: list[str] = []

    def ready(self, free: int | None = None, slots: Callable[[Unit], int] = lambda u: 1) -> list[Unit]:
        """The units that may start, longest chain first (Plan.chain_costs), then in the plan's order, as long as
        they fit in `free` slots (default: no limit), each taking slots(unit); they leave the waiting list. The
        first unit that does not fit stops the list: smaller ones behind it do not pass it, or a unit that needs
        every slot could wait for ever."""
        can = [u for u in self.waiting if all(n in self.done for n in u.needs)]
        order = {u.name: i for i, u in enumerate(self.plan.units)}
        out: list[Unit] = []
        for u in sorted(can, key=lambda u: (-self.chain[u.name], order[u.name])):
            if free is not None:
                if slots(u) > free:
                    break
                free -= slots(u)
            out.append(u)
        self.waiting = [u for u in self.waiting if u not in out]
        return out

    def finish(self, name: str) -> None:
        self.done.add(name)

    def fail(self, name: str, why: str) -> None:
        self.failed[name] = why
        blocked = set(self.plan.dependants(name))
        self.skipped += [u.name for u in self.waiting if u.name in blocked]
        self.waiting = [u for u in self.waiting if u.name not in blocked]

    def error(self) -> LWDError:
        what = "; ".join(f"{n} ({why})" for n, why in self.failed.items())
        skipped = f"; not run, since they need a failed unit: {', '.join(self.skipped)}" if self.skipped else ""
        return LWDError(f"{self.plan.study}: {len(self.failed)} unit(s) failed: {what}{skipped}; rerun the command "
                        "to resume")


class Local:
    """One unit after another in this process, with every record passed on: `reproduce`'s behaviour before plans
    existed, and what the app's sweep uses."""
    name = "local"

    def run(self, plan: Plan, cancel: Callable[[], bool]) -> Iterator[Any]:
        for unit in plan.units:
            if cancel():
                return
            result = yield from execute(unit, cancel)
            yield UnitDone(unit, result)
            if result is None:
                return


# In a worker process of LocalPool: the event the parent sets to stop every unit at its next step.
_STOP = None


def _init_worker(stop) -> None:
    """The parent decides what Ctrl-C means (a terminal sends it to the whole process group) and sets `stop`;
    a worker that died of it would be reported as a failed unit instead of a stopped one."""
    global _STOP
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _STOP = stop


def _run_in_worker(unit: Unit) -> tuple[str, Any]:
    # exceptions travel back as text: some LWDErrors take extra arguments and would not unpickle in the parent
    try:
        return "ok", run_to_end(unit, _STOP.is_set)
    except Exception as e:
        return "error", one_line(e)


class LocalPool:
    """Up to `jobs` units at once, each in its own spawned process (spawned, not forked: the parent may hold torch
    threads or a Qt event loop). Each unit keeps its own cores busy (Unit.cpus: the study's --workers, which
    `reproduce --jobs N` makes the cores divided by N unless given). A unit starts when a slot is free: the ready
    unit with the longest chain of work after it (Plan.chain_costs).

    A slot is `cores_per_job` cores (default: the usable cores divided by `jobs`), and a unit takes as many slots as
    its cpus fill, at most all of them: a study's collection, which simulates on every core the study has
    (StudyArgs.collect_workers), runs alone instead of on one core beside idle slots."""
    name = "local"

    def __init__(self, jobs: int, cores_per_job: int | None = None):
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ConfigError(f"--jobs must be an integer >= 1, got {jobs!r}")
        self.jobs = jobs
        self.cores_per_job = max(1, cores_per_job or usable_cores() // jobs)

    def slots(self, unit: Unit) -> int:
        return min(self.jobs, -(-max(1, int(unit.cpus)) // self.cores_per_job))

    def run(self, plan: Plan, cancel: Callable[[], bool]) -> Iterator[Any]:
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        sched = Schedule(plan)
        pool = ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_init_worker, initargs=(stop,))
        running: dict[Future, tuple[Unit, float]] = {}
        try:
            while True:
                if not stop.is_set():          # into free slots only, so the order is ours, not the queue's
                    busy = sum(self.slots(u) for u, _ in running.values())
                    for u in sched.ready(self.jobs - busy, self.slots):
                        try:
                            running[pool.submit(_run_in_worker, u)] = (u, time.perf_counter())
                        except BrokenProcessPool:         # a worker died earlier: nothing more starts here
                            sched.fail(u.name, "not started: a worker process of this pool died")
                            continue
                        yield StudyEvent(f"started {u.name}", stage=u.name)
                if not running:
                    break
                finished, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                if cancel() and not stop.is_set():
                    stop.set()
                    yield StudyEvent("stopping: each running unit stops at its next step")
                for f in finished:
                    u, t0 = running.pop(f)
                    try:
                        status, value = f.result()
                    except BrokenProcessPool:
                        status, value = "error", "its worker process died"
                    if status == "error":
                        sched.fail(u.name, value)
                        yield StudyEvent(f"failed {u.name}: {value}")
                        continue
                    value, said = value
                    for msg in said:
                        yield StudyEvent(f"{u.name}: {msg}")
                    sched.finish(u.name)
                    if value is None:
                        stop.set()
                    else:
                        yield StudyEvent(f"finished {u.name} ({time.perf_counter() - t0:.1f} s)")
                    yield UnitDone(u, value)
        finally:
            stop.set()                  # closed or interrupted: the running units stop at their next step
            pool.shutdown(wait=True, cancel_futures=True)
        if sched.failed:
            raise sched.error()


EXECUTORS = ("local", "ray")


def make_executor(name: str = "local", jobs: int = 1, address: str | None = None, cores_per_job: int | None = None):
    """The executor `reproduce --executor NAME [--jobs N] [--address ADDR]` asks for; a local pool's slot is
    `cores_per_job` cores (the study's --workers)."""
    if name == "local":
        return Local() if jobs == 1 else LocalPool(jobs, cores_per_job)
    if name == "ray":
        if jobs != 1:
            raise ConfigError("--jobs is for --executor local; a Ray cluster runs as many units as its resources "
                              "allow")
        # imported only when chosen: Ray is an optional extra, and importing it costs a second at start-up
        from .ray_executor import RayExecutor
        return RayExecutor(address)
    raise ConfigError(f"unknown executor {name!r}; choose from {', '.join(EXECUTORS)}")
