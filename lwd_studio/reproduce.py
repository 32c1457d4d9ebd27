"""`lwd-studio reproduce table2`: train and evaluate LWD and the baselines on one MT10 dataset, per seed."""
from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from lwd_core.config import EvalConfig
from lwd_core.io import atomic_write_bytes, atomic_write_json


def run_table2(a) -> int:
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.data.mt10 import collect_mt10
    from lwd_core.eval import table2 as T
    from lwd_core.train.loops import train_run
    from lwd_core.train.run import RunDir

    from .commands import format_table, run_eval, run_training
    out: Path = a.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = out / "mt10.h5"
    if not data.exists():
        res: dict = {}
        n, L = (2, 100) if a.quick else (40, 500)
        with tqdm(total=10 * n, desc="collect mt10", unit="ep") as bar:
            for _ in collect_mt10(n, L, 0.1, 0, result=res):
                bar.update(1)
        save_dataset(res["dataset"], data)
    seeds = list(range(1 if a.quick else a.seeds))
    episodes = 2 if a.quick else a.episodes
    results: dict[str, list[dict]] = {n: [] for n in T.METHODS}
    params: dict[str, int] = {}
    for seed in seeds:
        for name in T.METHODS:
            run = RunDir(out / f"seed{seed}" / name.replace(" ", "_").replace("(", "").replace(")", ""))
            if not (run.exists() and run.status().get("status") == "finished"):
                cfg = T.method_config(name, str(data), seed, a.quick)
                resume = run.exists() and run.metrics_path.exists()
                status = run_training(train_run(str(run.path), None if resume else cfg, resume=resume),
                                      desc=f"seed {seed} {name}: ")
                if status != "finished":
                    print(f"{name} seed {seed}: training {status}; rerun the command to resume")
                    return 3
            ev = run_eval(run.path, EvalConfig(episodes=episodes, seed=seed), ("lwd",))
            atomic_write_json(run.path / "eval" / f"table2_seed{seed}.json", ev)
            tqdm.write(f"seed {seed} {name}: mean success {ev['mean_success']:.3f}")
            results[name].append(ev)
            params[name] = ev.get("n_params") or _lwd_params(run.path)
    agg = T.aggregate(results, params)
    agg.update(seeds=seeds, episodes_per_task=episodes, quick=bool(a.quick), wall_time_s=time.perf_counter() - t0)
    atomic_write_json(out / "table2.json", agg)
    atomic_write_bytes(out / "table2.md", T.markdown(agg).encode())
    print(T.markdown(agg))
    print(f"wrote {out / 'table2.md'} and {out / 'table2.json'} in {agg['wall_time_s'] / 60:.1f} min")
    return 0


def _lwd_params(run_dir) -> int:
    from lwd_core.io import load_meta
    from lwd_core.models.policy import PolicySpec
    m = load_meta(Path(run_dir) / "checkpoints" / "vae.safetensors")
    from lwd_core.train.run import RunDir
    return PolicySpec(m["obs_dim"], m["act_dim"], tuple(RunDir(run_dir).config().vae.policy_hidden)).n_params
