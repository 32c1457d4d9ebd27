"""Headless subcommands. Each parses nothing itself and prints only what the user needs."""
from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from lwd_core.config import ConfigError, EvalConfig, RunConfig, preset
from lwd_core.errors import DatasetError, LWDError
from lwd_core.io import atomic_write_json

from .cli import CancelFlag


# ---------------------------------------------------------------- collect
def cmd_collect(a) -> int:
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.data.mt10 import collect_mt10
    from lwd_core.envs.mt10 import MT10_TASKS
    tasks = tuple(t.strip() for t in a.tasks.split(",") if t.strip()) or MT10_TASKS
    res: dict = {}
    gen = collect_mt10(a.episodes_per_task, a.episode_length, a.noise, a.seed, tasks, result=res)
    ok = 0
    with tqdm(total=len(tasks) * a.episodes_per_task, desc="collect mt10", unit="ep") as bar:
        for p in gen:
            ok += p.success
            bar.set_postfix(task=p.task, success=f"{ok / p.done:.2f}")
            bar.update(1)
    save_dataset(res["dataset"], a.out)
    ds = res["dataset"]
    print(f"wrote {a.out}: {len(ds)} steps, {len(ds.episode_bounds())} episodes, expert success {ok / max(1, len(ds.episode_bounds())):.2f}")
    return 0


# ---------------------------------------------------------------- train
def _parse_set(items: list[str]) -> dict:
    out: dict = {}
    for it in items:
        if "=" not in it:
            raise ConfigError(f"--set expects KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        try:
            val = json.loads(v)
        except json.JSONDecodeError:
            val = v
        parts = k.strip().split(".")
        if len(parts) == 1:
            out[parts[0]] = val
        elif len(parts) == 2:
            out.setdefault(parts[0], {})[parts[1]] = val
        else:
            raise ConfigError(f"--set key must be `field` or `section.field`, got {k!r}")
    return out


def build_config(a) -> RunConfig:
    from lwd_core.data.hdf5 import load_dataset
    cfg = RunConfig.from_file(a.config) if a.config else preset(a.preset or "mt10")
    if a.dataset:
        cfg = cfg.replace(data={"dataset": str(a.dataset)})
    if a.set:
        cfg = cfg.replace(**_parse_set(a.set))
    if not cfg.data.dataset:
        raise ConfigError("no dataset: pass --dataset FILE (or set data.dataset in the config)")
    ds = load_dataset(cfg.data.dataset)  # validate now: a bad file fails before a run directory exists
    env = a.env or ds.env_id or cfg.env_id
    if not env:
        raise DatasetError(f"{cfg.data.dataset}: no `env_id` attribute; pass --env ENV_ID")
    if env == "mt10" and (ds.obs_dim, ds.act_dim) != (39, 4):
        raise DatasetError(f"{cfg.data.dataset}: obs_dim={ds.obs_dim}, act_dim={ds.act_dim} do not fit mt10 (39, 4)")
    return cfg.replace(env_id=env)


def run_training(gen, desc: str = "") -> str:
    """Drive a training generator with one progress bar per phase; returns the final status."""
    bar, status = None, "running"
    try:
        for rec in gen:
            if hasattr(rec, "step"):
                if bar is None:
                    bar = tqdm(total=rec.total, desc=f"{desc}{rec.phase}", unit="step", initial=rec.step - 1)
                bar.update(rec.step - bar.n)
                bar.set_postfix({k: f"{v:.4g}" for k, v in rec.losses.items() if k != "kl"})
            else:
                if bar is not None:
                    bar.close()
                    bar = None
                if rec.status == "cancelled" or rec.phase == "done":
                    status = rec.status
                tqdm.write(f"[{rec.phase}] {rec.message}")
    finally:
        if bar is not None:
            bar.close()
    return status


def cmd_train(a) -> int:
    from lwd_core.train.loops import train_run
    from lwd_core.train.run import RunDir
    cancel = CancelFlag().install()
    if a.resume:
        run = RunDir(a.run_dir)
        if a.dataset or a.preset or a.config or a.set:
            cfg = run.config()
            if a.dataset:
                cfg = cfg.replace(data={"dataset": str(a.dataset)})
            if a.set:
                cfg = cfg.replace(**_parse_set(a.set))
            _check_resume_dataset(run, cfg)
            atomic_write_json(run.config_path, cfg.to_dict())
        gen = train_run(str(a.run_dir), resume=True, cancel=cancel)
    else:
        gen = train_run(str(a.run_dir), build_config(a), cancel=cancel)
    status = run_training(gen)
    print(f"run {a.run_dir}: {status}")
    return 0 if status == "finished" else 3


def _check_resume_dataset(run, cfg: RunConfig) -> None:
    from lwd_core.data.hdf5 import load_dataset
    from lwd_core.train.loops import check_dataset_fits
    check_dataset_fits(run, load_dataset(cfg.data.dataset))


# ---------------------------------------------------------------- eval
def format_table(res: dict) -> str:
    methods = [m for m in ("lwd", "vae", "expert", "mlp_bc", "diffusion_policy") if m in res["methods"]]
    names = {"lwd": "LWD (sampled)", "vae": "VAE recon", "expert": "scripted expert", "mlp_bc": "MLP-BC",
             "diffusion_policy": "Diffusion Policy"}
    conds = list(res["methods"][methods[0]]["per_condition"])
    w = max(12, max(len(c) for c in conds) + 1)
    key = "success" if res["methods"][methods[0]]["mean_success"] is not None else "return"
    lines = [f"{'condition':<{w}}" + "".join(f"{names[m]:>17}" for m in methods)]
    lines.append("-" * len(lines[0]))
    for c in conds:
        row = f"{c:<{w}}"
        for m in methods:
            v = res["methods"][m]["per_condition"].get(c, {}).get(key)
            row += f"{v:>17.2f}" if v is not None else f"{'-':>17}"
        lines.append(row)
    lines.append("-" * len(lines[0]))
    lines.append(f"{'mean ' + key:<{w}}" + "".join(
        f"{res['methods'][m]['mean_' + key]:>17.3f}" for m in methods))
    nov = res.get("novelty")
    if nov:
        lines.append(f"novelty of LWD latents: median distance to nearest training latent {nov['nn_dist_median']:.2f} "
                     f"vs {nov['train_nn_dist_median']:.2f} between training latents (ratio {nov['novelty_ratio']:.2f}; "
                     f"copies {nov['frac_copies']:.0%})")
    lines.append(f"{res['episodes']} episodes per condition, "
                 f"{'held-out placements' if res['heldout_placements'] else 'seeds'} from eval seed {res['seed']}, "
                 f"{res['sampler']} sampler")
    return "\n".join(lines)


def run_eval(run_dir, ecfg: EvalConfig, methods, conditions=None) -> dict:
    from lwd_core.train.run import RunDir
    res: dict = {}
    if RunDir(run_dir).config().method != "lwd":
        from lwd_core.eval.baselines import evaluate_baseline
        gen = evaluate_baseline(run_dir, ecfg, conditions, result=res)
    else:
        from lwd_core.eval.evaluate import evaluate
        from lwd_core.lwd import TrainedLWD
        gen = evaluate(TrainedLWD(run_dir), ecfg, conditions, methods, result=res)
    bar = None
    for p in gen:
        if bar is None:
            bar = tqdm(total=p.total, desc="eval", unit="cond")
        bar.update(1)
        bar.set_postfix(cond=p.condition, method=p.method)
    if bar is not None:
        bar.close()
    return res


def cmd_eval(a) -> int:
    from lwd_core.train.run import RunDir
    cfg = RunDir(a.run_dir).config()
    ecfg = EvalConfig(episodes=a.episodes or cfg.eval.episodes, seed=a.seed, sampler=a.sampler or cfg.eval.sampler,
                      ddim_steps=cfg.eval.ddim_steps, max_steps=cfg.eval.max_steps)
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    for m in methods:
        if m not in ("lwd", "vae", "expert"):
            raise ConfigError(f"unknown method {m!r}; choose from lwd, vae, expert")
    conds = [c.strip() for c in a.conditions.split(",") if c.strip()] or None
    res = run_eval(a.run_dir, ecfg, methods, conds)
    print(format_table(res))
    if a.json:
        atomic_write_json(a.json, res)
        print(f"wrote {a.json}")
    atomic_write_json(Path(a.run_dir) / "eval" / f"eval_seed{a.seed}.json", res)
    return 0


# ---------------------------------------------------------------- sample
def cmd_sample(a) -> int:
    import numpy as np

    from lwd_core.envs.mt10 import PlacedEnv, eval_placement_seed
    from lwd_core.lwd import TrainedLWD
    lwd = TrainedLWD(a.run_dir)
    cid = lwd.condition_id(a.condition)
    init = None
    if lwd.cfg.ddpm.state_condition:
        if lwd.env_id != "mt10":
            raise LWDError("state-conditioned sampling from the CLI is supported for mt10 runs only")
        env = PlacedEnv(a.condition)
        ps = a.placement_seed if a.placement_seed is not None else eval_placement_seed(a.seed, 0)
        init = env.reset(seed=ps)[0][None]
        env.close()
    z = lwd.sample_latents(np.array([cid]), a.sampler, lwd.cfg.eval.ddim_steps, seed=a.seed, init_obs=init)
    pol = lwd.policy_batch(lwd.decode(z)).policy(0)
    if a.out.suffix != ".safetensors":
        raise ConfigError(f"--out must end in .safetensors, got {a.out.name}")
    pol.save(a.out, {"condition": a.condition, "run": str(a.run_dir), "env_id": lwd.env_id, "seed": a.seed,
                     "sampler": a.sampler})
    print(f"wrote {a.out} and {a.out.with_suffix('.json')} ({pol.n_params} parameters, condition {a.condition})")
    return 0


# ---------------------------------------------------------------- demo / launch
def cmd_demo(a) -> int:
    if not a.headless:
        from .app import launch
        return launch(a.out / "runs")
    from .demo import run_demo
    return run_demo(a)


def cmd_launch(a) -> int:
    from .app import launch
    return launch(a.runs_dir)


# ---------------------------------------------------------------- reproduce
def cmd_reproduce(a) -> int:
    if a.seeds <= 0 or a.episodes <= 0:
        raise ConfigError("--seeds and --episodes must be > 0")
    if a.dp_steps is not None and a.dp_steps <= 0:
        raise ConfigError(f"--dp-steps must be > 0, got {a.dp_steps}")
    from . import reproduce
    return getattr(reproduce, f"run_{a.what}")(a)


# ---------------------------------------------------------------- bench
def cmd_bench(a) -> int:
    from lwd_core.bench import run_bench
    res = run_bench(quick=a.quick, log=lambda s: print(s, flush=True))
    if a.json:
        atomic_write_json(a.json, res)
        print(f"wrote {a.json}")
    return 0
