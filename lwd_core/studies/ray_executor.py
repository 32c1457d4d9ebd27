"""`reproduce STUDY --executor ray [--address ADDR]`: each unit of the plan is a Ray task.

Resources follow the unit: `num_cpus` is the cores it keeps busy (an evaluation's simulation workers, a training's
torch threads: the study's --workers), capped at the largest node's so that it can be placed; a training on device "cuda", or "auto" on a cluster with GPUs, asks
for its share of a GPU (plan.py: a fraction for smoke-scale and small runs, so several share one device).

Tasks are not retried by Ray: a unit whose worker died is reported by name, and rerunning the command resumes it
from its run folder (its last checkpoint; the run's claim keeps a second trainer out). The --out folder and the
datasets must be on a file system every node sees at the same path (docs/ray.md).

This module imports Ray, an optional extra; executors.make_executor imports it only when Ray is chosen."""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable, Iterator

from ..errors import ConfigError, LWDError
from .common import StudyEvent
from .executors import Schedule, UnitDone, one_line, run_to_end
from .plan import Plan, Unit

try:
    import ray
    from ray.exceptions import RayError, RayTaskError, TaskCancelledError
except ImportError:                   # reported as one line by RayExecutor(), not at import
    ray = None


def _task(unit: Unit) -> Any:
    # cancel stays False: ray.cancel() interrupts the task with KeyboardInterrupt instead, and the training's own
    # handler marks its run cancelled (its last checkpoint is where a rerun resumes)
    return run_to_end(unit, lambda: False)


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None):
        if ray is None:
            raise ConfigError('--executor ray needs Ray: pip install -e ".[ray]"')
        self.address = address or os.environ.get("RAY_ADDRESS") or None

    def _connect(self) -> bool:
        """Connect to the cluster at the address (or RAY_ADDRESS); without one, start a Ray instance on this
        machine, bound to localhost and without the dashboard. Returns whether this call did either."""
        if ray.is_initialized():
            return False
        # the driver's LWD_* settings (plugins, behaviour policies) and its thread limit hold for the units too
        env = {k: v for k, v in os.environ.items() if k.startswith("LWD_") or k == "OMP_NUM_THREADS"}
        quiet = {"logging_level": logging.WARNING, "log_to_driver": True, "runtime_env": {"env_vars": env}}
        try:
            if self.address:
                ray.init(address=self.address, **quiet)
            else:
                ray.init(include_dashboard=False, _node_ip_address="127.0.0.1", **quiet)
        except ConnectionError as e:
            raise LWDError(f"cannot reach the Ray cluster at {self.address}: {one_line(e)}") from None
        return True

    def resources(self, unit: Unit, gpus: float, max_cpus: float) -> dict[str, Any]:
        if unit.device == "cuda" and gpus <= 0:
            raise ConfigError(f"{unit.name} trains on device 'cuda' but the Ray cluster has no GPU")
        use_gpu = unit.gpu > 0 and (unit.device == "cuda" or (unit.device == "auto" and gpus > 0))
        return {"num_cpus": max(1, min(unit.cpus, int(max_cpus) or 1)), "num_gpus": unit.gpu if use_gpu else 0}

    def run(self, plan: Plan, cancel: Callable[[], bool]) -> Iterator[Any]:
        mine = self._connect()
        try:
            yield from self._run(plan, cancel)
        finally:
            if mine:
                ray.shutdown()       # disconnects from a cluster; stops an instance this call started

    def _run(self, plan: Plan, cancel: Callable[[], bool]) -> Iterator[Any]:
        gpus = float(ray.cluster_resources().get("GPU", 0))
        max_cpus = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=1)
        for u in plan.units:                             # before anything is submitted
            self.resources(u, gpus, max_cpus)
        remote = ray.remote(_task)
        sched = Schedule(plan)
        running: dict[Any, tuple[Unit, float]] = {}
        stopping = False
        try:
            while True:
                if not stopping:
                    for u in sched.ready():
                        res = self.resources(u, gpus, max_cpus)
                        ref = remote.options(**res, max_retries=0, name=u.name).remote(u)
                        running[ref] = (u, time.perf_counter())
                        yield StudyEvent(f"submitted {u.name} to Ray ({res['num_cpus']} CPU"
                                         f"{', %g GPU' % res['num_gpus'] if res['num_gpus'] else ''})", stage=u.name)
                if not running:
                    break
                done, _ = ray.wait(list(running), num_returns=1, timeout=0.25)
                if cancel() and not stopping:
                    stopping = True
                    for ref in running:
                        ray.cancel(ref)
                    yield StudyEvent("stopping: the running units were cancelled; a rerun resumes them")
                for ref in done:
                    u, t0 = running.pop(ref)
                    try:
                        value, said = ray.get(ref)
                    except TaskCancelledError:
                        value, said = None, []
                    except RayTaskError as e:                 # the unit raised: its own error, not Ray's wrapper
                        cause = e.cause if isinstance(e.cause, BaseException) else e
                        if isinstance(cause, KeyboardInterrupt):
                            value, said = None, []          # ray.cancel() reached it while it ran
                        else:
                            sched.fail(u.name, one_line(cause))
                            yield StudyEvent(f"failed {u.name}: {one_line(cause)}")
                            continue
                    except RayError as e:                     # the worker died (killed, out of memory, node lost)
                        why = f"its Ray worker died ({type(e).__name__})"
                        sched.fail(u.name, why)
                        yield StudyEvent(f"failed {u.name}: {why}")
                        continue
                    for msg in said:
                        yield StudyEvent(f"{u.name}: {msg}")
                    if value is None:
                        stopping = True
                    else:
                        sched.finish(u.name)
                        yield StudyEvent(f"finished {u.name} ({time.perf_counter() - t0:.1f} s)")
                    yield UnitDone(u, value)
        finally:
            if running:                     # Ctrl-C, or the study closed: cancel what is still out, then wait a
                for ref in running:         # little so that trainings can mark their runs cancelled
                    ray.cancel(ref)
                ray.wait(list(running), num_returns=len(running), timeout=10)
        if sched.failed:
            raise sched.error()
