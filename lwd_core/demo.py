"""The demo pipeline behind `lwd-studio demo --headless` and the app's Demo run: collect demonstrations, train
LWD, evaluate it on held-out episodes. The scales are data; the steps are generators, like every loop here."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from .config import EvalConfig, RunConfig, preset
from .envs.collect import dataset_file, ensure_dataset
from .envs.registry import get_collector
from .eval.evaluate import evaluate_run
from .io import atomic_write_json
from .runs import RunDir
from .studies.common import StudyEvent, ensure_trained


@dataclass(frozen=True)
class DemoScale:
    source: str                                    # a registered collector
    collect: dict[str, Any]                        # its config
    preset: str
    overrides: dict[str, Any] = field(default_factory=dict)   # RunConfig.replace() sections on top of the preset
    eval_episodes: int = 10
    run_name: str = "run"                          # each scale trains its own run folder beside the others

    @property
    def results_file(self) -> str:
        """results.json for the full scale, results-quick.json and so on for the others: a smoke run in the same
        folder must not overwrite the full run's figures."""
        return "results.json" if self.run_name == "run" else f"results-{self.run_name.removeprefix('run-')}.json"

    def collect_config(self):
        return get_collector(self.source).config(**self.collect)

    def run_config(self, dataset: Path, name: str = "demo") -> RunConfig:
        return preset(self.preset).replace(**self.overrides).replace(name=name, data={"dataset": str(dataset)})


# Default scale: 10-15 minutes on a 2-core CPU (docs/results/mt10.md has the timings); quick: a smoke run of a
# minute or two; app: the desktop app's first-launch Demo run, about a minute.
DEMO_SCALES = {
    "full": DemoScale("mt10", {"episodes_per_task": 40, "episode_length": 500}, "mt10", eval_episodes=10),
    "quick": DemoScale("mt10", {"episodes_per_task": 3, "episode_length": 500}, "mt10-quick", eval_episodes=2,
                       run_name="run-quick"),
    "app": DemoScale("mt10", {"episodes_per_task": 5, "episode_length": 500}, "mt10-quick",
                     {"vae": {"steps": 600}, "ddpm": {"steps": 1500}}, eval_episodes=2, run_name="run-app"),
}


def run_demo(out: Path, scale: DemoScale, episodes: int | None, workers: int,
             cancel: Callable[[], bool] = lambda: False) -> Iterator[Any]:
    """Collect (or reuse the data collected in `out` with the same settings), train out/<scale's run> (or resume
    it, or reuse it when it finished with the same settings on the same data), evaluate. Each scale has a dataset
    file and a run folder of its own, so a --quick demo is never taken for the full one. Returns the result dict
    (with timings), or None when training stopped early."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = dataset_file(out, scale.source, scale.collect_config())
    if data.exists():
        yield StudyEvent(f"1/3 using {data} (collected with the same settings)")
    else:
        yield StudyEvent(f"1/3 collecting {scale.source} into {data}", stage=f"1/3 collect {scale.source}")
    yield from ensure_dataset(data, scale.source, scale.collect_config(), workers)
    t_collect = time.perf_counter() - t0

    run = RunDir(out / scale.run_name)
    finished = run.exists() and run.status().get("status") == "finished"
    yield StudyEvent(f"2/3 {'checking' if finished else 'training'} {run.path}", stage="2/3 train")
    if not (yield from ensure_trained(run.path, scale.run_config(data), "2/3 train", cancel)):
        yield StudyEvent("training stopped; rerun the same command to resume")
        return None
    t_train = time.perf_counter() - t0 - t_collect

    n = episodes or scale.eval_episodes
    yield StudyEvent(f"3/3 evaluating on held-out episodes, {n} per condition", stage="3/3 eval")
    res: dict = {}
    yield from evaluate_run(run.path, EvalConfig(episodes=n), None, None, workers, result=res)
    t_total = time.perf_counter() - t0
    res["timing_s"] = {"collect": t_collect, "train": t_train, "eval": t_total - t_collect - t_train, "total": t_total}
    atomic_write_json(out / scale.results_file, res)
    return res
