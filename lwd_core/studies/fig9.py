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

from ..config import EvalConfig, RunConfig, preset
from ..envs.registry import get_collector
from ..errors import ConfigError
from ..eval.evaluate import evaluate
from ..eval.reference import SuiteReference
from ..runs import RunDir
from .common import StudyEvent, StudyPoint, StudyResult, data_unit, train_seconds, write_report
from .costs import train_cost
from .fig9_results import FLOOR, METHODS, aggregate, figure, markdown, point_of, report
from .plan import Plan, Unit, eval_unit, gpu_share, train_unit
from .registry import StudyArgs, StudySpec, register_study

HORIZONS = (1, 8, 16, 32, 64, 128)
QUICK_HORIZONS = (1, 8, 32)
CONDITIONS = {"clean": False, "perturbed": True}
# planner episodes; --demos overrides "full". 1000 rather than 200: LWD's score and success rise with them, DP's
# a little (the demonstrator is free to run: 11 min on 2 cores; docs/results/fig9-history.md)
DEMOS = {"full": 1000, "quick": 4}
OBSERVATIONS = {"keypoints": "pusht", "state": "pusht-5d"}      # --obs -> the env id the runs train and play on
DIAGNOSIS_HORIZON = 8                                            # where the LWD diagnosis runs closed-loop
QUICK_STEPS, QUICK_EVAL_STEPS = 40, 60


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
