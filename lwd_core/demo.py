"""The demo pipeline behind `lwd-studio demo --headless` and the app's Demo run: collect demonstrations, train
LWD, evaluate it on held-out episodes. The scales are data; the steps are generators, like every loop here."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from .config import EvalConfig, RunConfig, preset
from .envs.collect import ensure_dataset
from .envs.registry import get_collector
from .eval.evaluate import evaluate_run
from .io import atomic_write_json
from .methods.registry import train_run
from .runs import RunDir
from .studies.common import StudyEvent


@dataclass(frozen=True)
class DemoScale:
    source: str                                    # a registered collector
    collect: dict[str, Any]                        # its config
    preset: str
    overrides: dict[str, Any] = field(default_factory=dict)   # RunConfig.replace() sections on top of the preset
    eval_episodes: int = 10

    def dataset_name(self) -> str:
        return f"{self.source}.h5"

    def collect_config(self):
        return get_collector(self.source).config(**self.collect)

    def run_config(self, dataset: Path, name: str = "demo") -> RunConfig:
        return preset(self.preset).replace(**self.overrides).replace(name=name, data={"dataset": str(dataset)})


# Default scale: under 30 minutes on a 2-core CPU (README has the timings); quick: a smoke run of a minute or two;
# app: the desktop app's first-launch Demo run, about a minute.
DEMO_SCALES = {
    "full": DemoScale("mt10", {"episodes_per_task": 40, "episode_length": 500}, "mt10", eval_episodes=10),
    "quick": DemoScale("mt10", {"episodes_per_task": 3, "episode_length": 500}, "mt10-quick", eval_episodes=2),
    "app": DemoScale("mt10", {"episodes_per_task": 5, "episode_length": 500}, "mt10-quick",
                     {"vae": {"steps": 600}, "ddpm": {"steps": 1500}}, eval_episodes=2),
}


def run_demo(out: Path, scale: DemoScale, episodes: int | None, workers: int,
             cancel: Callable[[], bool] = lambda: False) -> Iterator[Any]:
    """Collect (unless out/<source>.h5 exists), train out/run (or resume it), evaluate. Returns the result dict
    (with timings), or None when training stopped early."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = out / scale.dataset_name()
    if data.exists():
        yield StudyEvent(f"1/3 using existing dataset {data}")
    else:
        yield StudyEvent(f"1/3 collecting {scale.source}", stage=f"1/3 collect {scale.source}")
        yield from ensure_dataset(data, scale.source, scale.collect_config(), workers)
    t_collect = time.perf_counter() - t0

    run = RunDir(out / "run")
    if run.exists() and run.status().get("status") == "finished":
        yield StudyEvent(f"2/3 using finished run {run.path}")
    else:
        resume = run.started()
        yield StudyEvent(f"2/3 training (resuming the {run.state().get('status')} run)" if resume else "2/3 training",
                         stage="2/3 train")
        status = "running"
        for rec in train_run(str(run.path), None if resume else scale.run_config(data), resume=resume, cancel=cancel):
            yield rec
            if getattr(rec, "status", "") == "cancelled" or getattr(rec, "phase", "") == "done":
                status = rec.status
        if status != "finished":
            yield StudyEvent(f"training {status}; rerun the same command to resume")
            return None
    t_train = time.perf_counter() - t0 - t_collect

    n = episodes or scale.eval_episodes
    yield StudyEvent(f"3/3 evaluating on held-out episodes, {n} per condition", stage="3/3 eval")
    res: dict = {}
    yield from evaluate_run(run.path, EvalConfig(episodes=n), None, None, workers, result=res)
    t_total = time.perf_counter() - t0
    res["timing_s"] = {"collect": t_collect, "train": t_train, "eval": t_total - t_collect - t_train, "total": t_total}
    atomic_write_json(out / "results.json", res)
    return res
