"""`lwd-studio demo --headless`: collect MT10 demonstrations, train LWD, evaluate, print a table."""
from __future__ import annotations

import time

from tqdm import tqdm

from lwd_core.config import EvalConfig, preset
from lwd_core.io import atomic_write_json

from .cli import CancelFlag

# Default scale is sized to finish in under 30 minutes on a 2-core CPU (see README for timings).
FULL = {"episodes_per_task": 40, "preset": "mt10", "eval_episodes": 10}
QUICK = {"episodes_per_task": 3, "preset": "mt10-quick", "eval_episodes": 2}


def run_demo(a) -> int:
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.data.mt10 import collect_mt10
    from lwd_core.train.loops import train_run
    from lwd_core.train.run import RunDir

    from .commands import format_table, run_eval, run_training

    scale = QUICK if a.quick else FULL
    out = a.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = out / "mt10.h5"
    if not data.exists():
        res: dict = {}
        n = scale["episodes_per_task"]
        with tqdm(total=10 * n, desc="1/3 collect mt10", unit="ep") as bar:
            for p in collect_mt10(n, 500, 0.1, 0, result=res):
                bar.update(1)
                bar.set_postfix(task=p.task)
        save_dataset(res["dataset"], data)
    else:
        print(f"1/3 using existing dataset {data}")
    t_collect = time.perf_counter() - t0

    run = RunDir(out / "run")
    cancel = CancelFlag().install()
    if run.exists() and run.status().get("status") == "finished":
        print(f"2/3 using finished run {run.path}")
        status = "finished"
    else:
        cfg = preset(scale["preset"]).replace(data={"dataset": str(data)}, name="demo")
        gen = train_run(str(run.path), resume=run.exists() and run.vae_ckpt.exists(), cancel=cancel,
                        cfg=None if run.exists() and run.vae_ckpt.exists() else cfg)
        status = run_training(gen, desc="2/3 train ")
    if status != "finished":
        print(f"training {status}; rerun the same command to resume")
        return 3
    t_train = time.perf_counter() - t0 - t_collect

    episodes = a.episodes or scale["eval_episodes"]
    print(f"3/3 evaluating on held-out placements, {episodes} episodes per task")
    res = run_eval(run.path, EvalConfig(episodes=episodes), ("lwd", "vae", "expert"))
    t_total = time.perf_counter() - t0
    res["timing_s"] = {"collect": t_collect, "train": t_train, "eval": t_total - t_collect - t_train, "total": t_total}
    atomic_write_json(out / "results.json", res)
    print()
    print(format_table(res))
    print(f"time: collect {t_collect:.0f} s, train {t_train:.0f} s, eval {res['timing_s']['eval']:.0f} s, "
          f"total {t_total / 60:.1f} min; results in {out / 'results.json'}")
    return 0
