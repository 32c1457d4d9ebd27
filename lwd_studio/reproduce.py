"""`lwd-studio reproduce table2`: train and evaluate LWD and the baselines on one MT10 dataset, per seed."""
from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from lwd_core.config import EvalConfig
from lwd_core.errors import ConfigError
from lwd_core.io import atomic_write_bytes, atomic_write_json


def ensure_dataset(out: Path, quick: bool) -> Path:
    """The MT10 dataset every method of a study trains on (the same as `demo --headless` collects)."""
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.data.mt10 import collect_mt10
    data = out / "mt10.h5"
    if not data.exists():
        res: dict = {}
        n, L = (2, 100) if quick else (40, 500)
        with tqdm(total=10 * n, desc="collect mt10", unit="ep") as bar:
            for _ in collect_mt10(n, L, 0.1, 0, result=res):
                bar.update(1)
        save_dataset(res["dataset"], data)
    return data


# Settings that do not change what a run learns; a reused run may differ from the requested config in these.
_NOT_TRAINING = {"name", "log_every", "checkpoint_every", "device", "eval", "data.dataset"}


def training_differences(saved, wanted) -> list[str]:
    """The training settings in which a saved run's config differs from the wanted one, as 'key: saved -> wanted'."""
    def flat(d: dict, pre: str = "") -> dict:
        out = {}
        for k, v in d.items():
            key = f"{pre}{k}"
            if key in _NOT_TRAINING:
                continue
            out.update(flat(v, key + ".") if isinstance(v, dict) else {key: v})
        return out
    a, b = flat(saved.to_dict()), flat(wanted.to_dict())
    norm = (lambda v: list(v) if isinstance(v, tuple) else v)
    return [f"{k}: {norm(a.get(k))} -> {norm(b.get(k))}" for k in sorted(set(a) | set(b))
            if norm(a.get(k)) != norm(b.get(k))]


def ensure_trained(run_dir: Path, cfg, desc: str) -> bool:
    """Train, resume, or reuse a finished run. Returns False when training stopped early. A run folder that
    was made with other training settings is an error, not something to reuse silently."""
    from lwd_core.train.loops import train_run
    from lwd_core.train.run import RunDir

    from .commands import run_training
    run = RunDir(run_dir)
    if run.exists():
        diff = training_differences(run.config(), cfg)
        if diff:
            raise ConfigError(f"{run.path} was trained with other settings ({'; '.join(diff[:3])}); "
                              "use another --out or delete that folder")
    if run.exists() and run.status().get("status") == "finished":
        return True
    resume = run.exists() and run.metrics_path.exists()
    status = run_training(train_run(str(run.path), None if resume else cfg, resume=resume), desc=desc)
    if status != "finished":
        print(f"{desc} training {status}; rerun the command to resume")
    return status == "finished"


def cached_eval(run_dir: Path, ecfg: EvalConfig, methods, path: Path) -> dict:
    """Evaluate a run, or reuse a saved result of the same episodes and seed that is newer than every checkpoint
    (so rerunning a study after an interruption only evaluates what changed)."""
    import json

    from lwd_core.train.run import RunDir

    from .commands import run_eval
    kind = RunDir(run_dir).config().method           # a baseline's result is keyed by its method name
    want = list(methods) if kind == "lwd" else [kind]
    ckpts = list((Path(run_dir) / "checkpoints").glob("*.safetensors"))
    if path.exists() and ckpts and path.stat().st_mtime >= max(c.stat().st_mtime for c in ckpts):
        try:
            ev = json.loads(path.read_text())
            if ev.get("episodes") == ecfg.episodes and ev.get("seed") == ecfg.seed and \
                    all(m in ev.get("methods", {}) for m in want):
                return ev
        except (OSError, ValueError):
            pass                                   # unreadable or partial: evaluate again
    ev = run_eval(run_dir, ecfg, methods)
    atomic_write_json(path, ev)
    return ev


def run_table2(a) -> int:
    from lwd_core.eval import table2 as T
    from lwd_core.train.run import RunDir

    out: Path = a.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = ensure_dataset(out, a.quick)
    seeds = list(range(1 if a.quick else a.seeds))
    episodes = 2 if a.quick else a.episodes
    results: dict[str, list[dict]] = {n: [] for n in T.METHODS}
    params: dict[str, int] = {}
    cost = {n: {"train_s": 0.0, "eval_s": 0.0} for n in T.METHODS}
    for seed in seeds:
        for name in T.METHODS:
            run = RunDir(out / f"seed{seed}" / name.replace(" ", "_").replace("(", "").replace(")", ""))
            if not ensure_trained(run.path, T.method_config(name, str(data), seed, a.quick, a.dp_steps),
                                  f"seed {seed} {name}: "):
                return 3
            ev = cached_eval(run.path, EvalConfig(episodes=episodes, seed=seed), ("lwd",),
                             run.path / "eval" / f"table2_seed{seed}.json")
            tqdm.write(f"seed {seed} {name}: mean success {ev['mean_success']:.3f}")
            results[name].append(ev)
            params[name] = ev.get("n_params") or _lwd_params(run.path)
            cost[name]["train_s"] += train_seconds(run)
            cost[name]["eval_s"] += float(ev.get("seconds", 0.0))
    agg = T.aggregate(results, params)
    for name, c in cost.items():
        agg["methods"][name].update(c)
    # wall_time_s is this invocation's; compute_s sums every run's own training and evaluation time, so it also
    # counts runs that an earlier, interrupted invocation finished.
    agg.update(seeds=seeds, episodes_per_task=episodes, quick=bool(a.quick), wall_time_s=time.perf_counter() - t0,
               compute_s=sum(c["train_s"] + c["eval_s"] for c in cost.values()))
    atomic_write_json(out / "table2.json", agg)
    atomic_write_bytes(out / "table2.md", T.markdown(agg).encode())
    print(T.markdown(agg))
    print(f"wrote {out / 'table2.md'} and {out / 'table2.json'} in {agg['wall_time_s'] / 60:.1f} min "
          f"(training and evaluation of all runs: {agg['compute_s'] / 60:.1f} min)")
    return 0


def train_seconds(run) -> float:
    """A run's recorded training time, summed over its phases (VAE + DDPM for LWD). `elapsed` restarts at 0 when
    a run resumes, so each drop starts a new segment."""
    done: dict[str, float] = {}
    last: dict[str, float] = {}
    for rec in run.read_metrics():
        if "elapsed" in rec:
            ph, e = rec.get("phase", ""), float(rec["elapsed"])
            if e < last.get(ph, 0.0):
                done[ph] = done.get(ph, 0.0) + last[ph]
            last[ph] = e
    return sum(done.values()) + sum(last.values())


def _lwd_params(run_dir) -> int:
    from lwd_core.io import load_meta
    from lwd_core.models.policy import PolicySpec
    m = load_meta(Path(run_dir) / "checkpoints" / "vae.safetensors")
    from lwd_core.train.run import RunDir
    return PolicySpec(m["obs_dim"], m["act_dim"], tuple(RunDir(run_dir).config().vae.policy_hidden)).n_params


def _vae_config(window: int, size: str, data: Path, quick: bool, steps: dict | None = None):
    from lwd_core.config import preset
    cfg = preset("mt10" if window >= 500 else "mt10-snippets").replace(
        name=f"{size}-w{window}", data={"dataset": str(data), "window": window},
        vae={"decoder_size": size}, ddpm={"steps": 1})   # these studies look at the VAE only
    if quick:
        cfg = cfg.replace(vae={"steps": 40, "encoder_hidden": [256]})
    elif steps and steps.get(window):
        cfg = cfg.replace(vae={"steps": steps[window]})
    return cfg


def _vae_steps(a) -> dict:
    """--vae-steps FULL[,SNIPPETS]: override the presets' VAE training steps (10000 full, 4000 snippets)."""
    spec = getattr(a, "vae_steps", None)
    if not spec:
        return {}
    try:
        vals = [int(v) for v in str(spec).split(",")]
    except ValueError:
        raise ConfigError(f"--vae-steps wants one or two integers like 3000,4000, not {spec!r}") from None
    if not 1 <= len(vals) <= 2 or min(vals) < 1:
        raise ConfigError(f"--vae-steps wants one or two positive integers like 3000,4000, not {spec!r}")
    return {500: vals[0], 50: vals[-1]}


def _vae_study(a):
    """Shared start of fig7/fig8: validated --vae-steps, the output folder and its MT10 dataset, and pyplot."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    steps = _vae_steps(a)
    out: Path = a.out
    out.mkdir(parents=True, exist_ok=True)
    return plt, out, ensure_dataset(out, a.quick), steps


def run_fig7(a) -> int:
    """PCA of the latents of full trajectories and of 50-step snippets, coloured by task (PC1/2 and PC3/4)."""
    from lwd_core.analysis import latent_map
    from lwd_core.lwd import TrainedLWD
    plt, out, data, steps = _vae_study(a)
    summary = {}
    for window, tag in ((500, "full"), (50, "snippets")):
        run_dir = out / f"xs-w{window}"
        if not ensure_trained(run_dir, _vae_config(window, "xs", data, a.quick, steps), f"fig7 {tag}: "):
            return 3
        m = latent_map(TrainedLWD(run_dir, need_diffusion=False))
        fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
        for ax, (i, j) in zip(axes, ((0, 1), (2, 3))):
            if max(i, j) >= m.coords.shape[1]:
                ax.set_visible(False)
                continue
            for c, name in enumerate(m.label_names):
                sel = m.label == c
                ax.scatter(m.coords[sel, i], m.coords[sel, j], s=10, label=name, alpha=0.8)
            ax.set_xlabel(f"PC{i + 1} ({m.explained[i]:.0%})")
            ax.set_ylabel(f"PC{j + 1} ({m.explained[j]:.0%})")
        axes[0].legend(fontsize=7, markerscale=1.5)
        fig.suptitle(f"MT10 latents of {'full 500-step trajectories' if window >= 500 else '50-step snippets'}")
        fig.tight_layout()
        fig.savefig(out / f"fig7_{tag}.png", dpi=110)
        plt.close(fig)
        summary[tag] = {"windows": int(len(m.coords)), "explained_variance": [float(x) for x in m.explained]}
    atomic_write_json(out / "fig7.json", summary)
    print(f"wrote {out / 'fig7_full.png'} and {out / 'fig7_snippets.png'}")
    return 0


def run_fig8(a) -> int:
    """Decoder-size ablation: VAE-reconstructed MT10 success for xs/s/m/l, full trajectories and snippets."""
    plt, out, data, steps = _vae_study(a)
    episodes = 2 if a.quick else a.episodes
    res: dict = {"episodes_per_task": episodes, "quick": bool(a.quick), "success": {}, "vae_steps": {}}
    for window in (500, 50):
        for size in ("xs", "s", "m", "l"):
            run_dir = out / f"{size}-w{window}"
            cfg = _vae_config(window, size, data, a.quick, steps)
            if not ensure_trained(run_dir, cfg, f"fig8 {size} w{window}: "):
                return 3
            ev = cached_eval(run_dir, EvalConfig(episodes=episodes), ("vae",), run_dir / "eval" / "fig8.json")
            res["success"][f"{size}-w{window}"] = ev["methods"]["vae"]["mean_success"]
            res["vae_steps"][f"{size}-w{window}"] = cfg.vae.steps     # a reused run has the same (checked)
            tqdm.write(f"decoder {size}, window {window}: VAE-reconstructed success {ev['methods']['vae']['mean_success']:.3f}")
    atomic_write_json(out / "fig8.json", res)
    fig, ax = plt.subplots(figsize=(6, 4))
    sizes = ["xs", "s", "m", "l"]
    for window, label in ((500, "full trajectories (500)"), (50, "snippets (50)")):
        ax.plot(sizes, [res["success"][f"{s}-w{window}"] for s in sizes], marker="o", label=label)
    ax.set_xlabel("decoder size")
    ax.set_ylabel("mean MT10 success (VAE-reconstructed)")
    ax.set_ylim(0, 1.05)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "fig8.png", dpi=110)
    plt.close(fig)
    print(f"wrote {out / 'fig8.png'} and {out / 'fig8.json'}")
    return 0
