"""Paper Fig. 9 (§4.5): action horizon on PushT, state-conditioned LWD against Diffusion Policy, with and without
perturbations.

Both methods train on the same planner demonstrations (`collect pusht`). For each H_a in HORIZONS:
- LWD samples a latent for the current state every H_a steps, decodes it and runs that policy closed-loop;
- Diffusion Policy predicts a chunk and executes H_a of its actions open-loop.
Its chunk must hold n_obs - 1 + H_a actions, so the prediction horizon H_p follows H_a: Chi et al.'s 16 for every
H_a <= 15, else the smallest multiple of 4 (the U-Net halves the sequence twice) that holds the chunk: 20, 36, 68
and 132 for H_a = 16, 32, 64 and 128. One DP model is trained per H_p, rather than one 132-step model truncated for
every H_a: each model then predicts exactly the chunk it executes, which is the stronger baseline (Chi et al. saw
longer prediction horizons hurt), at the cost of four extra trainings, each on the 16-step model's budget.

Every point is evaluated on the same held-out start states (and, perturbed, the same seeded pushes of the block) for
both methods. Performance is the mean over episodes of each episode's best coverage score; "relative" divides it
by the method's best over H_a, as the paper does."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..config import EvalConfig, RunConfig, preset
from ..envs.registry import get_collector
from ..errors import ConfigError
from ..eval.evaluate import evaluate
from ..eval.reference import SuiteReference
from ..runs import RunDir
from .common import (StudyEvent, StudyPoint, StudyResult, data_unit, markdown_table, pyplot, report_table,
                     train_seconds, write_report)
from .costs import train_cost
from .plan import Plan, Unit, eval_unit, gpu_share, train_unit
from .registry import StudyArgs, StudySpec, register_study

HORIZONS = (1, 8, 16, 32, 64, 128)
QUICK_HORIZONS = (1, 8, 32)
METHODS = {"LWD": "lwd", "DP": "diffusion_policy"}          # label -> the evaluated policy kind
CONDITIONS = {"clean": False, "perturbed": True}
# planner episodes; --demos overrides "full". 1000 rather than 200: LWD's score and success rise with them, DP's a little (the
# demonstrator is free to run: 11 min on 2 cores; docs/results/fig9-history.md, "Five times the demonstrations")
DEMOS = {"full": 1000, "quick": 4}
OBSERVATIONS = {"keypoints": "pusht", "state": "pusht-5d"}      # --obs -> the env id the runs train and play on
DIAGNOSIS_HORIZON = 8                                            # where the LWD diagnosis runs closed-loop
FLOOR = "hold still"                                             # the suite's reference every score is read against
QUICK_STEPS, QUICK_EVAL_STEPS = 40, 60
# the paper's reading of its Fig. 9 (no table is printed): DP is best at H_a = 16, LWD at 8, and at about a 25%
# relative drop LWD needs a quarter of DP's diffusion queries
PAPER = {"best_horizon": {"LWD": 8, "DP": 16}, "query_ratio_at_25pct_drop": 0.25}


def dp_horizon(h_a: int, n_obs: int) -> int:
    """The serving DP model's prediction horizon: 16 (Chi et al.) if it holds n_obs - 1 + H_a, else the next x4."""
    need = n_obs - 1 + h_a
    return 16 if need <= 16 else -(-need // 4) * 4


def demos(a: StudyArgs) -> int:
    """How many planner demonstrations the study collects (seed 0): --demos, else the scale's default."""
    return DEMOS["quick"] if a.quick else int(a.options.get("demos", DEMOS["full"]))


def run_configs(a: StudyArgs, data: Path, seed: int, horizons: tuple[int, ...]) -> dict[str, RunConfig]:
    """The runs of one seed: 'lwd', and one Diffusion Policy per prediction horizon the sweep needs."""
    lwd = preset("pusht-state")
    dp = preset("pusht-dp")
    out = {"lwd": lwd}
    for hp in sorted({dp_horizon(h, dp.baseline.n_obs) for h in horizons}):
        base = dp if hp == 16 else preset("pusht-dp-long")
        out[f"dp{hp}"] = base.replace(baseline={"horizon": hp})
    env_id = OBSERVATIONS[a.options.get("obs", "keypoints")]
    for name, cfg in out.items():
        cfg = cfg.replace(name=f"fig9-{name}-s{seed}", seed=seed, env_id=env_id, data={"dataset": str(data)})
        if a.quick:
            cfg = cfg.replace(vae={"steps": QUICK_STEPS, "encoder_hidden": [128]}, log_every=5,
                              ddpm={"steps": QUICK_STEPS, "hidden": 128, "n_blocks": 1},
                              baseline={"steps": QUICK_STEPS // 4, "batch_size": 32, "dp_size": "small",
                                        "ddim_steps": 10})
        out[name] = cfg
    return out


def eval_config(a: StudyArgs, seed: int, h_a: int, perturb: bool) -> EvalConfig:
    return EvalConfig(episodes=min(a.episodes, 4) if a.quick else a.episodes, seed=seed,
                      max_steps=QUICK_EVAL_STEPS if a.quick else 300, action_horizon=h_a, perturb=perturb,
                      ddim_steps=10 if a.quick else 50)


def conditions_of(a: StudyArgs) -> dict[str, bool]:
    return CONDITIONS if a.options.get("perturb", True) else {"clean": False}


def plan(a: StudyArgs) -> Plan:
    """Per seed: the LWD run, its diagnosis, the floors and LWD's points; then each DP run and its points. Every
    point comes right after its training: one unit at a time, LWD's curve arrives long before the long DP models."""
    horizons = QUICK_HORIZONS if a.quick else HORIZONS
    ccfg = get_collector("pusht").config(episodes=demos(a), seed=0)
    collect, data = data_unit(a, "pusht", ccfg, "PushT demonstrations")
    units: list[Unit] = [collect]
    n_obs = preset("pusht-dp").baseline.n_obs
    for seed in range(a.seeds):
        cfgs = run_configs(a, data, seed, horizons)
        lwd_dir, h = a.out / f"lwd-s{seed}", DIAGNOSIS_HORIZON

        def train(name: str) -> None:
            units.append(train_unit(f"train {name}-s{seed}", a.out / f"{name}-s{seed}", cfgs[name],
                                    f"fig9 {name} seed {seed}", (collect.name,), a.workers, gpu_share(a.quick),
                                    train_cost(cfgs[name])))

        def points(label: str, name: str) -> None:      # LWD at every H_a, a DP model at those its chunk serves
            kind, run_dir = METHODS[label], a.out / f"{name}-s{seed}"
            served = [h_a for h_a in horizons if label == "LWD" or f"dp{dp_horizon(h_a, n_obs)}" == name]
            for cond, perturb in conditions_of(a).items():
                for h_a in served:
                    units.append(eval_unit(
                        f"eval {label} H_a={h_a} {cond} s{seed}", run_dir, eval_config(a, seed, h_a, perturb), (kind,),
                        run_dir / "eval" / f"fig9-h{h_a}-{cond}.json", a.workers, (f"train {name}-s{seed}",),
                        stage=f"fig9 {label} H_a={h_a} {cond}",
                        message=f"evaluating {label} at H_a={h_a} ({cond}, seed {seed})",
                        tags={"point": (label, kind, h_a, cond, seed, name)}))

        train("lwd")
        units.append(Unit(f"diagnose precision s{seed}", "lwd_core.studies.fig9:precision_unit",
                          {"run_dir": str(lwd_dir), "samples": 2 if a.quick else 4, "seed": seed},
                          (f"train lwd-s{seed}",), tags={"seed": seed}))
        units.append(eval_unit(f"diagnose nearest window s{seed}", lwd_dir, eval_config(a, seed, h, False),
                               ("vae_train",), lwd_dir / "eval" / f"diagnosis-h{h}-nearest-window.json", a.workers,
                               (f"train lwd-s{seed}",), tags={"seed": seed}))
        for cond, perturb in conditions_of(a).items():
            units.append(Unit(f"floor {cond} s{seed}", "lwd_core.studies.fig9:floor_unit",
                              {"env_id": cfgs["lwd"].env_id, "ecfg": eval_config(a, seed, 0, perturb),
                               "workers": a.workers, "stage": f"fig9 floor {cond}",
                               "message": f"evaluating the '{FLOOR}' floor ({cond}, seed {seed})"},
                              cpus=a.workers, tags={"condition": cond, "seed": seed}))
        points("LWD", "lwd")
        for name in [n for n in cfgs if n != "lwd"]:
            train(name)
            points("DP", name)
    return Plan("fig9", tuple(units))


def precision_unit(run_dir: str, samples: int, seed: int, cancel=lambda: False) -> Iterator[Any]:
    """Which part of LWD misses, for one seed's run: the generated policies' action error near the goal (px), of
    the training windows' own latents decoded by the VAE against policies the diffusion model samples for the
    windows' first states. (The plan's "diagnose nearest window" unit adds the closed-loop score at
    DIAGNOSIS_HORIZON when every re-sample is replaced by the latent of the training window that starts nearest the
    current state: the VAE and the demonstrations alone.)"""
    from ..methods.lwd.inference import TrainedLWD
    from ..methods.lwd.precision import run_precision
    yield StudyEvent(f"diagnosing LWD (seed {seed}): VAE against diffusion samples", stage="fig9 diagnosis")
    return run_precision(TrainedLWD(Path(run_dir)), samples=samples)


def floor_unit(env_id: str, ecfg: EvalConfig, workers: int, stage: str, message: str,
               cancel=lambda: False) -> Iterator[Any]:
    """The hold-still reference on the points' own start states: its score and success."""
    yield StudyEvent(message, stage=stage)
    ref: dict = {}
    yield from evaluate(SuiteReference(env_id, ["pusht"]), ecfg, kinds=(FLOOR,), workers=workers, result=ref)
    pc = ref["per_condition"]["pusht"]
    return {"score": pc["score"], "success": pc["success"]}


def _collected(a: StudyArgs, plan: Plan, results: dict) -> tuple[list[dict], list[dict]]:
    """The points and floors finished so far, in the plan's order (whatever order the executor ran them in)."""
    points, floors = [], []
    for u in plan.units:
        if u.name not in results:
            continue
        if "point" in u.tags:
            points.append(point_of(results[u.name], *u.tags["point"]))
        elif u.name.startswith("floor "):
            floors.append({"condition": u.tags["condition"], "seed": u.tags["seed"], **results[u.name]})
    return points, floors


def progress(a: StudyArgs, plan: Plan, results: dict, unit: Unit) -> Iterator[Any]:
    if "point" not in unit.tags:
        return
    horizons = QUICK_HORIZONS if a.quick else HORIZONS
    conditions = list(conditions_of(a))
    label, _, h, cond, _, _ = unit.tags["point"]
    point = point_of(results[unit.name], *unit.tags["point"])
    yield StudyEvent(f"{label} H_a={h} {cond}: score {point['score']:.3f}, success {point['success']:.2f}, "
                     f"{point['queries']:.1f} queries per episode")
    points, floors = _collected(a, plan, results)
    yield StudyPoint("fig9", {**aggregate(points, horizons, conditions, floors), "out": str(a.out)}, len(points),
                     sum("point" in u.tags for u in plan.units))


def finish(a: StudyArgs, plan: Plan, results: dict) -> StudyResult:
    horizons = QUICK_HORIZONS if a.quick else HORIZONS
    n_obs = preset("pusht-dp").baseline.n_obs
    points, floors = _collected(a, plan, results)
    train_s: dict[str, float] = {}
    diagnosis: list[dict] = []
    for seed in range(a.seeds):
        for u in plan.units:
            if u.name.startswith("train ") and u.name.endswith(f"-s{seed}"):
                name = u.name[len("train "):-len(f"-s{seed}")]
                train_s[name] = train_s.get(name, 0.0) + train_seconds(RunDir(u.run_dir))
        pc = next(iter(results[f"diagnose nearest window s{seed}"]["methods"]["vae_train"]["per_condition"].values()))
        diagnosis.append({"seed": seed, "precision": results[f"diagnose precision s{seed}"],
                          "nearest_window": {"horizon": DIAGNOSIS_HORIZON, "score": float(pc["score"]),
                                             "success": float(pc["success"])}})
    res = aggregate(points, horizons, list(conditions_of(a)), floors)
    res.update(study="fig9", quick=bool(a.quick), diagnosis=diagnosis, seeds=a.seeds, episodes=points[0]["episodes"],
               observation=a.options.get("obs", "keypoints"), demonstrations=demos(a),
               train_seconds=train_s, finished=time.strftime("%Y-%m-%d %H:%M:%S"),
               dp_models={f"dp{dp_horizon(h, n_obs)}": [x for x in horizons if dp_horizon(x, n_obs) ==
                                                        dp_horizon(h, n_obs)] for h in horizons})
    res["report"] = report(res)
    md = markdown(res)
    files = write_report(a.out, "fig9", res, md, figure(res))
    return StudyResult(True, files, md)


def point_of(ev: dict, label: str, kind: str, h: int, cond: str, seed: int, run_name: str) -> dict:
    pc = next(iter(ev["methods"][kind]["per_condition"].values()))
    queries = ev.get("diffusion_queries_per_episode", ev.get("queries_per_episode"))
    return {"method": label, "kind": kind, "horizon": h, "condition": cond, "seed": seed, "run": run_name,
            "score": float(pc["score"]), "success": float(pc["success"]), "queries": float(queries),
            "wall_per_episode": float(ev["seconds"]) / max(1, int(ev["episodes"])), "episodes": int(ev["episodes"])}


def aggregate(points: list[dict], horizons, conditions, floors: list[dict] | None = None) -> dict:
    """Mean and std over seeds per (method, condition, H_a); relative = score / the method's best score over H_a in
    that condition; then the paper's three comparisons. `floors`: the hold-still reference's score per condition
    and seed, averaged per condition."""
    curves: dict = {}
    for m in METHODS:
        for c in conditions:
            rows = []
            for h in horizons:
                ps = [p for p in points if p["method"] == m and p["condition"] == c and p["horizon"] == h]
                if not ps:
                    continue
                sc, su = np.array([p["score"] for p in ps]), np.array([p["success"] for p in ps])
                rows.append({"horizon": h, "score": float(sc.mean()), "score_std": float(sc.std()),
                             "success": float(su.mean()), "success_std": float(su.std()),
                             "queries": float(np.mean([p["queries"] for p in ps])),
                             "wall_per_episode": float(np.mean([p["wall_per_episode"] for p in ps])),
                             "seeds": len(ps), "episodes": sum(p["episodes"] for p in ps),
                             "runs": [f"{p['run']}-s{p['seed']}" for p in ps], "kind": ps[0].get("kind", "")})
            best = max((r["score"] for r in rows), default=0.0)
            for r in rows:
                r["relative"] = r["score"] / best if best > 0 else 0.0
            if rows:
                curves.setdefault(m, {})[c] = rows
    floor = {c: {k: float(np.mean([f[k] for f in floors or [] if f["condition"] == c])) for k in ("score", "success")}
             for c in conditions if any(f["condition"] == c for f in floors or [])}
    return {"curves": curves, "horizons": list(horizons), "conditions": list(conditions), "points": points,
            "targets": targets(curves), "paper": PAPER, "floor": floor, "floor_policy": FLOOR}


def _row(curves, m, c, h):
    return next((r for r in curves.get(m, {}).get(c, []) if r["horizon"] == h), None)


def targets(curves: dict) -> dict:
    out: dict = {}
    lwd64, dp64 = _row(curves, "LWD", "clean", 64), _row(curves, "DP", "clean", 64)
    if lwd64 and dp64:
        out["relative_at_64"] = {"LWD": lwd64["relative"], "DP": dp64["relative"],
                                 "met": 1 - lwd64["relative"] < 1 - dp64["relative"]}
    # the longest swept H_a whose relative performance is still >= 0.75, and its queries per episode
    at25 = {}
    for m in METHODS:
        rows = [r for r in curves.get(m, {}).get("clean", []) if r["relative"] >= 0.75]
        if rows:
            r = max(rows, key=lambda r: r["horizon"])
            at25[m] = {"horizon": r["horizon"], "queries": r["queries"], "relative": r["relative"]}
    if len(at25) == 2 and at25["DP"]["queries"] > 0:
        ratio = at25["LWD"]["queries"] / at25["DP"]["queries"]
        out["queries_at_25pct_drop"] = {**at25, "ratio": ratio, "met": ratio <= 0.25}
    pert = {}
    for h in (32, 64, 128):
        lw, dp = _row(curves, "LWD", "perturbed", h), _row(curves, "DP", "perturbed", h)
        if lw and dp:
            pert[str(h)] = {"LWD": lw["success"], "DP": dp["success"], "met": lw["success"] > dp["success"]}
    if pert:
        out["perturbed_success_ge_32"] = {"per_horizon": pert, "met": all(v["met"] for v in pert.values())}
    return out


def report(res: dict) -> dict:
    cols = ["method", "H_a", "score", "success", "relative", "queries / episode", "wall ms / episode"]
    conds = res["conditions"]
    if "perturbed" in conds:
        cols += ["score (perturbed)", "success (perturbed)", "relative (perturbed)"]
    rows = []
    for m, by in res["curves"].items():
        for r in by.get("clean", []):
            row = [m, r["horizon"], r["score"], r["success"], r["relative"], r["queries"],
                   round(1000 * r["wall_per_episode"], 1)]
            if "perturbed" in conds:
                p = _row(res["curves"], m, "perturbed", r["horizon"])
                row += [p["score"], p["success"], p["relative"]] if p else [None] * 3
            rows.append(row)
    fl = res.get("floor", {})
    if "clean" in fl:                   # the reference every score is read against, on the same start states
        row = [f"{res.get('floor_policy', FLOOR)} (floor)", None, fl["clean"]["score"], fl["clean"]["success"], None,
               0.0, None]
        if "perturbed" in conds:
            p = fl.get("perturbed", {})
            row += [p.get("score"), p.get("success"), None]
        rows.append(row)
    return report_table("Fig. 9: PushT coverage score against action horizon H_a", cols, rows)


def markdown(res: dict) -> str:
    lines = [markdown_table(res["report"]), ""]
    t = res["targets"]
    if "relative_at_64" in t:
        r = t["relative_at_64"]
        lines.append(f"- Relative performance at H_a = 64: LWD {r['LWD']:.2f}, DP {r['DP']:.2f} "
                     f"(target: LWD drops less) -> {'met' if r['met'] else 'missed'}")
    if "queries_at_25pct_drop" in t:
        r = t["queries_at_25pct_drop"]
        lines.append(f"- Longest H_a within a 25% relative drop: LWD {r['LWD']['horizon']} "
                     f"({r['LWD']['queries']:.1f} queries), DP {r['DP']['horizon']} ({r['DP']['queries']:.1f}); "
                     f"ratio {r['ratio']:.2f} (target <= 0.25) -> {'met' if r['met'] else 'missed'}")
    if "perturbed_success_ge_32" in t:
        r = t["perturbed_success_ge_32"]
        per = ", ".join(f"H_a={h}: LWD {v['LWD']:.2f} vs DP {v['DP']:.2f}" for h, v in r["per_horizon"].items())
        lines.append(f"- Perturbed success at H_a >= 32 ({per}; target: LWD above DP) -> "
                     f"{'met' if r['met'] else 'missed'}")
    for d in res.get("diagnosis", []):
        pr = d.get("precision") or {}
        if "vae" in pr and "diffusion" in pr:
            lines.append(f"- LWD's action error near the goal (seed {d['seed']}): the VAE decoding the training "
                         f"windows' latents {pr['vae']['near_goal_rmse_px']:.1f} px RMS, policies the diffusion "
                         f"model samples for the same first states {pr['diffusion']['near_goal_rmse_px']:.1f} px")
        if "demonstrations" in pr:
            lines.append(f"- The demonstrations' own spread near the goal (seed {d['seed']}): the latents of the "
                         f"training windows of other episodes that start nearest the same states, "
                         f"{pr['demonstrations']['near_goal_rmse_px']:.1f} px (a diffusion model that samples "
                         f"p(z | s) faithfully lands near this)")
        nw = d.get("nearest_window")
        if nw:
            lines.append(f"- LWD with the nearest training window's latent instead of a diffusion sample, H_a = "
                         f"{nw['horizon']}: score {nw['score']:.3f}, success {nw['success']:.2f}")
    if "demonstrations" in res:
        lines.append(f"- Trained on {res['demonstrations']} planner demonstrations (`collect pusht --seed 0`)")
    ts = res.get("train_seconds", {})
    if ts:
        lines.append("- Training time, all seeds: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in ts.items()))
    return "\n".join(lines) + "\n"


def figure(res: dict):
    """2x2: absolute score, success rate, relative score with queries per episode on a second axis, wall time."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    colors = {"LWD": "tab:blue", "DP": "tab:orange"}
    style = {"clean": "-", "perturbed": "--"}
    twin = axes[1, 0].twinx()
    for m, by in res["curves"].items():
        for c, rows in by.items():
            h = [r["horizon"] for r in rows]
            kw = dict(color=colors.get(m), linestyle=style[c], marker="o", label=f"{m} ({c})")
            axes[0, 0].errorbar(h, [r["score"] for r in rows], yerr=[r["score_std"] for r in rows], capsize=3, **kw)
            axes[0, 1].errorbar(h, [r["success"] for r in rows], yerr=[r["success_std"] for r in rows], capsize=3,
                                **kw)
            axes[1, 0].plot(h, [r["relative"] for r in rows], **kw)
            if c == "clean":
                twin.plot(h, [r["queries"] for r in rows], color=colors.get(m), linestyle=":", marker="x",
                          alpha=0.6, label=f"{m} queries")
            axes[1, 1].plot(h, [1000 * r["wall_per_episode"] for r in rows], **kw)
    for ax, title in ((axes[0, 0], "mean coverage score"), (axes[0, 1], "success rate (coverage > 0.95)"),
                      (axes[1, 0], "score relative to the method's best H_a"),
                      (axes[1, 1], "evaluation wall time per episode (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(res["horizons"], [str(h) for h in res["horizons"]])
        ax.set_xlabel("action horizon H_a")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    for c, fl in res.get("floor", {}).items():         # the hold-still reference, on the same start states
        for ax, key in ((axes[0, 0], "score"), (axes[0, 1], "success")):
            ax.axhline(fl[key], color="gray", linestyle=style[c], linewidth=1,
                       label=f"{res.get('floor_policy', FLOOR)} ({c})")
    for ax in (axes[0, 0], axes[0, 1], axes[1, 0]):
        ax.set_ylim(0, 1.05)
    twin.set_yscale("log")
    twin.set_ylabel("diffusion queries per episode (dotted)")
    axes[0, 0].legend(fontsize=8)
    twin.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"PushT, action horizon: LWD (closed-loop policies) vs Diffusion Policy (open-loop chunks)"
                 f"{' [quick]' if res.get('quick') else ''}", fontsize=11)
    fig.tight_layout()
    return fig


def validate(a: StudyArgs) -> None:
    if a.options.get("obs", "keypoints") not in OBSERVATIONS:
        raise ConfigError(f"--obs must be one of {', '.join(OBSERVATIONS)}, got {a.options['obs']!r}")
    if int(a.options.get("demos", DEMOS["full"])) < 1:
        raise ConfigError(f"--demos must be at least 1, got {a.options['demos']}")
    if not a.quick and a.episodes < 50:
        raise ConfigError(f"fig9 needs at least 50 episodes per point (fewer are too noisy to compare), got "
                          f"--episodes {a.episodes}; use --quick for a smoke run")


register_study(StudySpec(
    "fig9", "Fig. 9: action horizon on PushT, LWD against Diffusion Policy", plan, finish,
    {"perturb": (bool, True, "also sweep under seeded perturbations of the block (default on)"),
     "demos": (int, DEMOS["full"], f"planner demonstrations to collect (seed 0; default {DEMOS['full']}); --quick "
                                   f"collects {DEMOS['quick']}"),
     "obs": (str, "keypoints", "observation: keypoints (the T's corners and the agent, default) or state (gym-pusht's "
                               "5-d state, angle wrapped)")}, validate,
    defaults={"seeds": 1, "episodes": 50}, progress=progress))
