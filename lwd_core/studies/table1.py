"""Paper Table 1 (§4.1) with Figs. 3, 4 and 6: behaviour reconstruction on locomotion.

For each env: collect a mixture of the shipped expert / medium / random behaviours (32 episodes of 1000 steps
each, with the behaviours' own noise), train LWD with behaviour-conditioned diffusion and a behaviour-conditioned
5x512 MLP on it, and roll out, from the same held-out start states:
- the original behaviour (as it acts in the data), twice, on two sets of start states: its two sets give SOS;
- LWD (a latent sampled for the behaviour, decoded, run closed-loop) and the MLP;
- the VAE alone, twice: decoding the latents of the training trajectories (as the paper's Fig. 3b does), and
  encoding then decoding the original's fresh held-out rollouts (how well the VAE generalises to trajectories it
  never saw).
Each trajectory is summarised by its feet's contact fractions; the table holds the JS divergence between the
original's distribution and each method's (`eval/behaviour.py` documents the estimator), mean ± std over seeds."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..config import ConfigError, EvalConfig, RunConfig, preset
from ..envs.locomotion import ENVS, env_id_of
from ..envs.registry import get_collector, get_suite
from ..eval.behaviour import js_divergence
from ..eval.latents import latent_map
from ..methods.lwd.inference import TrainedLWD
from .common import (
    StudyEvent,
    StudyResult,
    data_unit,
    markdown_table,
    pyplot,
    report_table,
    write_png,
    write_report,
)
from .plan import Plan, Unit, eval_unit, gpu_share, train_unit
from .registry import StudyArgs, StudySpec, register_study

ENV_NAMES = ("halfcheetah", "walker2d", "ant")
LEVELS = ("expert", "medium", "random")
COLUMNS = ("SOS", "MLP", "LWD")
PAPER = {  # paper Table 1: (mean, std) for SOS, MLP, LWD
    "Ant-v5": {"expert": ((0.187, 0.142), (1.272, 0.911), (0.510, 0.159)),
               "medium": ((0.624, 0.232), (1.907, 0.202), (1.328, 0.283)),
               "random": ((1.277, 1.708), (4.790, 0.964), (8.859, 0.792))},
    "HalfCheetah-v5": {"expert": ((0.158, 0.146), (2.810, 1.139), (0.088, 0.050)),
                       "medium": ((0.275, 0.196), (0.692, 0.787), (0.194, 0.157)),
                       "random": ((0.0467, 0.009), (0.11, 0.009), (0.104, 0.0187))},
    "Walker2d-v5": {"expert": ((0.342, 0.329), (2.879, 1.493), (1.093, 0.310)),
                    "medium": ((0.078, 0.058), (0.165, 0.126), (0.155, 0.091)),
                    "random": ((0.080, 0.004), (60.514, 52.461), (2.776, 1.260))},
}
DATA = {"full": {"episodes": 32, "episode_length": 1000}, "quick": {"episodes": 2, "episode_length": 60}}
PRESETS = {"conv": "locomotion", "flat": "locomotion-paper"}     # --encoder -> the LWD runs' preset
ENCODERS = tuple(PRESETS)
DEFAULT_ENCODER = "conv"
HELDOUT = "VAE held-out"                  # the VAE encoding and decoding rollouts it was not trained on


def encoder_of(a: StudyArgs) -> str:
    return a.options.get("encoder") or DEFAULT_ENCODER


def configs(env_id: str, data: Path, seed: int, quick: bool, encoder: str = DEFAULT_ENCODER) -> dict[str, RunConfig]:
    lwd = preset(PRESETS[encoder]).replace(name=f"table1-lwd-{env_id}-s{seed}")
    mlp = preset("locomotion-mlp").replace(name=f"table1-mlp-{env_id}-s{seed}")
    out = {"lwd": lwd, "mlp": mlp}
    if seed == 0 and env_id == "HalfCheetah-v5":      # Fig. 6: the same VAE on 100-step snippets
        out["snippets"] = lwd.replace(name="table1-snippets", data={"window": 100, "stride": 100},
                                      vae={"states_per_window": 50}, ddpm={"steps": 1})
    for k, cfg in out.items():
        cfg = cfg.replace(seed=seed, env_id=env_id, data={"dataset": str(data)})
        if quick:
            cfg = cfg.replace(vae={"steps": 20, "encoder_hidden": [64]}, ddpm={"steps": 20, "hidden": 64, "n_blocks": 1},
                              baseline={"steps": 20, "batch_size": 32, "width": 64}, log_every=5)
        out[k] = cfg
    return out


def env_ids(a: StudyArgs) -> list[str]:
    return [env_id_of(e) for e in (a.options.get("envs") or ",".join(ENV_NAMES)).split(",") if e.strip()]


# the evaluations of one seed: key -> (the run it evaluates, policy kinds, start states). The second set of the
# originals' rollouts (SOS) runs on the "reference" start states, disjoint from the evaluation ones by construction
# (seeds.py).
EVALS = {"lwd": ("lwd", ("expert", "lwd", "vae"), "eval"), "vtrain": ("lwd", ("vae_train",), "eval"),
         "sos": ("lwd", ("expert",), "reference"), "mlp": ("mlp", ("mlp_bc",), "eval")}


def plan(a: StudyArgs) -> Plan:
    """Per env: its behaviours' data, then per seed LWD and the MLP (and, on HalfCheetah seed 0, the snippet VAE of
    Fig. 6) and the four evaluations of EVALS."""
    scale = DATA["quick" if a.quick else "full"]
    episodes = min(a.episodes, 2) if a.quick else a.episodes
    units: list[Unit] = []
    for env_id in env_ids(a):
        ccfg = get_collector("locomotion").config(env=env_id, behaviors=",".join(LEVELS), episodes=scale["episodes"],
                                                   episode_length=scale["episode_length"])
        collect, data = data_unit(a, "locomotion", ccfg, f"{env_id} behaviours")
        units.append(collect)
        for seed in range(a.seeds):
            for name, cfg in configs(env_id, data, seed, a.quick, encoder_of(a)).items():
                units.append(train_unit(f"train {name}-{env_id}-s{seed}", a.out / f"{name}-{env_id}-s{seed}", cfg,
                                        f"table1 {name} {env_id} seed {seed}", (collect.name,), a.workers,
                                        gpu_share(a.quick, small=name == "mlp")))
            for key, (run_name, kinds, states) in EVALS.items():
                run_dir = a.out / f"{run_name}-{env_id}-s{seed}"
                ecfg = EvalConfig(episodes=episodes, seed=seed, max_steps=scale["episode_length"],
                                  ddim_steps=10 if a.quick else 50, start_states=states)
                units.append(eval_unit(f"eval table1-{key} {env_id} s{seed}", run_dir, ecfg, kinds,
                                       run_dir / "eval" / f"table1-{key}.json", a.workers,
                                       (f"train {run_name}-{env_id}-s{seed}",), stage=f"table1 eval {env_id}",
                                       message=f"rolling out {', '.join(kinds)} on {env_id} (seed {seed})",
                                       tags={"env": env_id}))
    return Plan("table1", tuple(units))


def _env_evals(plan: Plan, env_id: str) -> list[Unit]:
    return [u for u in plan.units if u.tags.get("env") == env_id]


def _per_seed(a: StudyArgs, plan: Plan, results: dict, env_id: str) -> list[dict]:
    return [seed_result({key: results[f"eval table1-{key} {env_id} s{seed}"] for key in EVALS})
            for seed in range(a.seeds)]


def progress(a: StudyArgs, plan: Plan, results: dict, unit: Unit) -> Iterator[Any]:
    """Each env's divergences once its last evaluation is in."""
    env_id = unit.tags.get("env")
    if env_id is None:
        return
    if all(u.name in results for u in _env_evals(plan, env_id)):
        js = aggregate(_per_seed(a, plan, results, env_id))["js"]
        yield StudyEvent(f"{env_id}: " + "; ".join(f"{lv} LWD {js[lv]['LWD'][0]:.3f}" for lv in LEVELS))


def finish(a: StudyArgs, plan: Plan, results: dict) -> StudyResult:
    res: dict = {"study": "table1", "quick": bool(a.quick), "seeds": a.seeds,
                 "episodes": min(a.episodes, 2) if a.quick else a.episodes, "envs": {},
                 "paper": PAPER, "columns": list(COLUMNS), "levels": list(LEVELS)}
    figs: list[str] = []
    for env_id in env_ids(a):
        per_seed = _per_seed(a, plan, results, env_id)
        res["envs"][env_id] = aggregate(per_seed)
        figs += [str(p) for p in env_figures(a.out, env_id, per_seed[0], res["envs"][env_id])]
        if any(u.name == f"train snippets-{env_id}-s0" for u in plan.units):
            figs.append(str(fig6(a.out, env_id)))
    res["targets"] = targets(res["envs"])
    res["report"] = report(res)
    files = list(write_report(a.out, "table1", res, markdown(res))) + figs
    return StudyResult(True, tuple(files), markdown(res))


# each compared set of rollouts: (evaluation key in run(), policy kind in it)
ORIGINAL = ("lwd", "expert")
SETS = {"SOS": ("sos", "expert"), "MLP": ("mlp", "mlp_bc"), "LWD": ("lwd", "lwd"), "VAE": ("vtrain", "vae_train"),
        HELDOUT: ("lwd", "vae")}


def seed_result(ev: dict) -> dict:
    """One seed: JS divergences against the original's first set of rollouts, the points and the returns."""
    out: dict = {"js": {}, "points": {}, "returns": {}}
    for lv in LEVELS:
        pcs = {k: ev[key]["methods"][kind]["per_condition"][lv] for k, (key, kind) in
               {"original": ORIGINAL, **SETS}.items()}
        pts = {k: np.asarray(pc["episode_stats"]["foot_contact"], np.float64) for k, pc in pcs.items()}
        out["js"][lv] = {k: js_divergence(pts["original"], pts[k]) for k in SETS}
        out["points"][lv] = {k: p.tolist() for k, p in pts.items()}
        out["returns"][lv] = {k: pcs[k]["return"] for k in ("original", "VAE", HELDOUT, "LWD", "MLP")}
    return out


def aggregate(per_seed: list[dict]) -> dict:
    cols = (*COLUMNS, "VAE", HELDOUT)
    return {"js": {lv: {c: (float(np.mean([s["js"][lv][c] for s in per_seed])),
                            float(np.std([s["js"][lv][c] for s in per_seed]))) for c in cols} for lv in LEVELS},
            "returns": {lv: {k: (float(np.mean([s["returns"][lv][k] for s in per_seed])),
                                 float(np.std([s["returns"][lv][k] for s in per_seed])))
                             for k in per_seed[0]["returns"][lv]} for lv in LEVELS},
            "seed_js": [s["js"] for s in per_seed]}


def targets(envs: dict) -> dict:
    """The paper's claims: LWD below MLP for expert and medium in every env; HalfCheetah expert and medium at or
    below SOS."""
    below = {f"{e} {lv}": r["js"][lv]["LWD"][0] < r["js"][lv]["MLP"][0] for e, r in envs.items()
             for lv in ("expert", "medium")}
    out = {"lwd_below_mlp_expert_medium": {"per_case": below, "met": all(below.values())}}
    if "HalfCheetah-v5" in envs:
        r = envs["HalfCheetah-v5"]["js"]
        sos = {lv: r[lv]["LWD"][0] <= r[lv]["SOS"][0] for lv in ("expert", "medium")}
        out["halfcheetah_at_or_below_sos"] = {"per_case": sos, "met": all(sos.values())}
    return out


def report(res: dict) -> dict:
    rows = []
    for env_id, r in res["envs"].items():
        for lv in LEVELS:
            paper = PAPER.get(env_id, {}).get(lv)
            rows.append([f"{env_id} {lv}", *[f"{r['js'][lv][c][0]:.3f} ± {r['js'][lv][c][1]:.3f}" for c in COLUMNS],
                         f"{r['js'][lv]['VAE'][0]:.3f}", f"{r['js'][lv][HELDOUT][0]:.3f}",
                         " / ".join(f"{m:.3g}" for m, _ in paper) if paper else ""])
    return report_table("Table 1: JS divergence (nats, <= ln 2) of foot-contact distributions from the original",
                        ["env, behaviour", *COLUMNS, "VAE (training latents)", "VAE (held-out rollouts)",
                         "paper SOS / MLP / LWD"], rows)


def markdown(res: dict) -> str:
    lines = [markdown_table(res["report"]), ""]
    for key, t in res.get("targets", {}).items():
        cases = ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in t["per_case"].items())
        lines.append(f"- {key.replace('_', ' ')} -> {'met' if t['met'] else 'missed'} ({cases})")
    lines.append("")
    lines.append("Returns (mean over seeds): " + "; ".join(
        f"{e} {lv}: " + ", ".join(f"{k} {v[0]:.0f}" for k, v in r["returns"][lv].items())
        for e, r in res["envs"].items() for lv in LEVELS))
    return "\n".join(lines) + "\n"


def env_figures(out: Path, env_id: str, seed0: dict, agg: dict) -> list[Path]:
    """Fig. 3 (foot-contact scatter: original, VAE-decoded training latents, VAE + diffusion) and Fig. 4
    (returns)."""
    plt = pyplot()
    labels = get_suite(env_id).foot_labels
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharex=True, sharey=True)
    for ax, (key, title) in zip(axes, (("original", "original policies"), ("VAE", "VAE-decoded (training latents)"),
                                       ("LWD", "VAE + diffusion (LWD)"))):
        for lv in LEVELS:
            p = np.asarray(seed0["points"][lv][key])
            ax.scatter(p[:, 1], p[:, 0], s=18, alpha=0.75, label=lv)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(f"{labels[1]} contact fraction")
    axes[0].set_ylabel(f"{labels[0]} contact fraction")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{env_id}: foot contacts per trajectory (paper Fig. 3)"
                 + (" — first two of four feet" if len(labels) > 2 else ""), fontsize=11)
    fig.tight_layout()
    f3 = write_png(out / f"table1_fig3_{env_id}.png", fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    keys = ["original", "VAE", "LWD", "MLP"]
    w = 0.2
    for i, k in enumerate(keys):
        ax.bar(np.arange(len(LEVELS)) + (i - 1.5) * w, [agg["returns"][lv][k][0] for lv in LEVELS], w,
               yerr=[agg["returns"][lv][k][1] for lv in LEVELS], label=k, capsize=3)
    ax.set_xticks(range(len(LEVELS)), LEVELS)
    ax.set_ylabel("episode return")
    ax.set_title(f"{env_id}: returns by behaviour (paper Fig. 4)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return [f3, write_png(out / f"table1_fig4_{env_id}.png", fig)]


def fig6(out: Path, env_id: str) -> Path:
    """Fig. 6: PCA of full-trajectory latents against 100-step-snippet latents."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, (run, title) in zip(axes, ((f"lwd-{env_id}-s0", "full 1000-step trajectories"),
                                       (f"snippets-{env_id}-s0", "100-step snippets"))):
        m = latent_map(TrainedLWD(out / run, need_diffusion=False))
        for c, name in enumerate(m.label_names):
            sel = m.label == c
            ax.scatter(m.coords[sel, 0], m.coords[sel, 1], s=12, alpha=0.8, label=name)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(f"PC1 ({m.explained[0]:.0%})")
        ax.set_ylabel(f"PC2 ({m.explained[1]:.0%})" if len(m.explained) > 1 else "PC2")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{env_id}: latents of full trajectories and of snippets (paper Fig. 6)", fontsize=11)
    fig.tight_layout()
    return write_png(out / f"table1_fig6_{env_id}.png", fig)


def validate(a: StudyArgs) -> None:
    if encoder_of(a) not in ENCODERS:
        raise ConfigError(f"--encoder must be one of {', '.join(ENCODERS)}, got {encoder_of(a)!r}")
    for e in (a.options.get("envs") or ",".join(ENV_NAMES)).split(","):
        if e.strip():
            env_id_of(e.strip())


register_study(StudySpec("table1", "Table 1 (+ Figs. 3, 4, 6): behaviour reconstruction on locomotion", plan, finish,
                         {"envs": (str, ",".join(ENV_NAMES), f"comma-separated envs (default all: {', '.join(ENVS)})"),
                          "encoder": (str, DEFAULT_ENCODER, "LWD's trajectory encoder: conv (the temporal encoder, default) or "
                                                   "flat (the paper's, preset locomotion-paper)")},
                         validate,
                         # 2 seeds by default: 3 take about 3 hours on a 2-core CPU (Ant's VAE alone is ~15 min a
                         # seed); --seeds 3 resumes from a 2-seed run and adds the third
                         defaults={"seeds": 2, "episodes": 32}, progress=progress))
