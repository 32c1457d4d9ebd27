"""A study's plan: its units of work and what each needs first.

A study no longer runs a loop. It declares a Plan: collecting its data, each training (a run config and its run
folder) and each evaluation (the settings of an evaluation plan, `eval/plan.py`, and the run it reads), in an order
that is also a valid order to run them in. An executor (`executors.py`) runs the plan, in this process, in local
processes or as Ray tasks; the study then aggregates what the units left in the run folders. Every unit resumes
from its folder (a finished training is reused, a cached evaluation is read back), so running a plan twice, or
after a crash, does only what is missing.

A unit names a generator function by "module:function" rather than holding it, so that it pickles by name into a
spawned process or a Ray worker, which imports the module itself."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import EvalConfig, RunConfig
from ..errors import ConfigError

# The share of one GPU a training asks a Ray cluster for when it trains on CUDA. Smoke-scale runs and small
# baselines use a fraction of a GPU's memory and compute, so several share one device; a full-scale run takes one.
SMALL_RUN_GPU, FULL_RUN_GPU = 0.25, 1.0


def gpu_share(quick: bool, small: bool = False) -> float:
    """What a training asks for: a fraction of a GPU at smoke scale or for a small model, else a whole one."""
    return SMALL_RUN_GPU if quick or small else FULL_RUN_GPU


@dataclass(frozen=True)
class Unit:
    name: str                        # unique in its plan; how progress and failures name the unit
    fn: str                          # "module:function": fn(**args, cancel=...) -> generator returning the result
    args: dict = field(default_factory=dict, hash=False)   # picklable: paths, configs, numbers
    needs: tuple[str, ...] = ()      # units that must have finished before this one starts
    run_dir: str = ""                # the run folder a training writes; at most one unit of a plan writes a folder
    cpus: int = 1                    # cores it keeps busy: a training's torch threads, an evaluation's workers
    gpu: float = 0.0                 # the share of a GPU it takes where it trains on CUDA
    device: str = "cpu"              # a training's `device` ("auto", "cuda", "cpu"); "cpu" for everything else
    cost: float = 0.0                # a rough estimate of its work (core-seconds), for the order only (chain_costs)
    tags: dict = field(default_factory=dict, hash=False)   # what the study reads its result by; executors ignore it


@dataclass(frozen=True)
class Plan:
    study: str
    units: tuple[Unit, ...]
    started: float = field(default_factory=time.perf_counter)    # a plan is made as its study starts: wall times

    def __post_init__(self):
        seen: set[str] = set()
        writers: dict[str, str] = {}
        for u in self.units:
            if u.name in seen:
                raise ConfigError(f"{self.study}: two units are named {u.name!r}")
            missing = [n for n in u.needs if n not in seen]
            if missing:                  # needs point backwards, so the declared order is a valid order to run in
                raise ConfigError(f"{self.study}: unit {u.name!r} needs {missing[0]!r}, which is not declared "
                                  "before it")
            if u.run_dir:
                key = str(Path(u.run_dir).resolve())
                if key in writers:
                    raise ConfigError(f"{self.study}: units {writers[key]!r} and {u.name!r} both train {u.run_dir}")
                writers[key] = u.name
            seen.add(u.name)

    def __getitem__(self, name: str) -> Unit:
        return next(u for u in self.units if u.name == name)

    def chain_costs(self) -> dict[str, float]:
        """Per unit: its cost plus the costliest chain of units that need it. Executors that run several units at
        once start the ready unit with the longest chain first, so that the longest training (and the evaluations
        waiting for it) is not what is left running alone at the end, with the other slots idle."""
        chain: dict[str, float] = {}
        for u in reversed(self.units):           # dependants are declared after what they need
            chain[u.name] = u.cost + max((chain[d.name] for d in self.units if u.name in d.needs), default=0.0)
        return chain

    def dependants(self, name: str) -> list[str]:
        """Every unit that needs `name`, directly or through others (they cannot run when it failed)."""
        out: list[str] = []
        for u in self.units:
            if any(n == name or n in out for n in u.needs):
                out.append(u.name)
        return out


def collect_unit(name: str, out: Path, source: str, cfg: Any, workers: int, what: str = "") -> Unit:
    """Collect (or reuse) `source` demonstrations in out/; its result is the dataset's path."""
    return Unit(name, "lwd_core.studies.units:collect",
                {"out": str(out), "source": source, "cfg": cfg, "workers": workers, "what": what}, cpus=workers)


def train_unit(name: str, run_dir: Path, cfg: RunConfig, desc: str, needs: tuple[str, ...] = (),
               threads: int = 1, gpu: float = FULL_RUN_GPU, cost: float = 0.0) -> Unit:
    """Train, resume or reuse the run in run_dir; its result is True when the run is finished."""
    return Unit(name, "lwd_core.studies.units:train", {"run_dir": str(run_dir), "cfg": cfg, "desc": desc},
                needs, run_dir=str(run_dir), cpus=threads, gpu=gpu, device=cfg.device, cost=cost)


def eval_unit(name: str, run_dir: Path, ecfg: EvalConfig, kinds: tuple[str, ...], path: Path, workers: int,
              needs: tuple[str, ...] = (), stage: str = "", message: str = "", tags: dict | None = None) -> Unit:
    """Evaluate the run in run_dir with these settings, or read back the result cached at `path` when it was
    computed from the same evaluation plan; its result is the evaluation's dict."""
    return Unit(name, "lwd_core.studies.units:evaluate",
                {"run_dir": str(run_dir), "ecfg": ecfg, "kinds": tuple(kinds), "path": str(path),
                 "workers": workers, "stage": stage, "message": message}, needs, cpus=workers, tags=tags or {})
