"""Evaluate a trained run of any method on its suite's held-out seeds: each of the method's policy kinds (for LWD:
sampled and VAE-reconstructed) and, where the suite has one, the scripted expert, on the same episodes. A generator,
like the training loops."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from ..config import EvalConfig
from ..envs.collect import check_workers
from ..envs.registry import get_suite
from ..errors import LWDError
from ..methods.registry import load_trained
from ..seeds import int_seed, suite_start_seed
from ..types import TrainedMethod
from .parallel import EnvPool
from .plan import EvalPlan
from .rollout import rollout_pool_steps

EXPERT = "expert"


@dataclass(frozen=True)
class EvalProgress:
    condition: str
    method: str
    done: int
    total: int
    success: float | None
    mean_return: float


def _summary(rows: list[dict], has_success: bool) -> dict:
    """Per condition: success rate, mean return, and mean score (each episode's best reward, e.g. PushT's
    coverage score)."""
    out = {"success": float(np.mean([r["success"] for r in rows])) if has_success else None,
           "return": float(np.mean([r["return"] for r in rows])),
           "return_std": float(np.std([r["return"] for r in rows])),
           "score": float(np.mean([r["max_reward"] for r in rows])), "episodes": len(rows)}
    if rows and "stats" in rows[0]:          # per-episode statistics, e.g. foot contacts, for behaviour metrics
        out["episode_stats"] = {k: [r["stats"][k] for r in rows] for k in rows[0]["stats"]}
        out["episode_returns"] = [r["return"] for r in rows]
    return out


def evaluate_run(run_dir, cfg: EvalConfig, conditions: Sequence[str] | None = None,
                 kinds: Sequence[str] | None = None, workers: int | None = None,
                 result: dict | None = None, names: dict | None = None) -> Iterator[EvalProgress]:
    """Load the run with its method's inference code, then evaluate() it. The result carries its evaluation plan
    (`plan.py`: every setting and input digest it was computed from) and the plan's key."""
    plan = EvalPlan.of(run_dir, cfg, kinds, conditions)
    yield from evaluate(load_trained(run_dir), cfg, conditions, kinds, workers, result, names)
    if result is not None:
        result.update(plan=plan.to_dict(), plan_key=plan.key())


def cap_inference_threads(workers: int) -> None:
    """For a process of its own that was given `workers` cores (the CLI's --workers): the policies' inference on
    at most that many torch threads. More threads than cores spin against whatever else runs there: beside a
    one-thread training on 2 cores, a one-worker LWD evaluation took 279 s on torch's default two threads and 35 s
    on one. Not for the GUI, which evaluates in a thread beside its trainings: the count is the whole process's."""
    import torch
    torch.set_num_threads(min(torch.get_num_threads(), workers))


# How evaluate()'s messages name each option: the caller's own spelling of it (the CLI passes its flags, e.g.
# {"kinds": "--methods"}), so an error points at what the user typed.
OPTION_NAMES = {"conditions": "conditions", "kinds": "kinds", "episodes": "eval.episodes", "seed": "eval.seed",
                "sampler": "eval.sampler", "action_horizon": "eval.action_horizon", "perturb": "eval.perturb"}
MAX_RESET_SEED = 2 ** 63 - 1          # reset seeds travel as int64


def expert_missing(suite, condition: str) -> str | None:
    """Why `suite` has no expert for `condition` (None: it has one). A suite whose experts cover only some
    conditions (locomotion: the behaviours with a shipped policy) says which through `expert_missing()`."""
    if not suite.has_expert:
        return f"{suite.env_id} has no scripted expert"
    why = getattr(suite, "expert_missing", None)
    return why(condition) if why is not None else None


@dataclass
class KindSchedule:
    """Which policy kind an evaluation runs where, settled (and every option checked) before its first episode."""
    conditions: list[str]
    kinds: list[str]                                 # the kinds that run, in the caller's order
    runs_on: dict[str, list[str]]                    # kind -> the conditions it runs on
    expert_conditions: list[str]                     # where the experts run (reported, or as demonstrations)
    heldout: dict[str, list]                         # condition -> the dataset's held-out episodes to reconstruct
    left_out: dict[str, str]                         # kind -> why it runs nowhere
    left_out_conditions: dict[str, dict[str, str]]   # kind -> condition -> why it does not run there


def schedule_kinds(trained: TrainedMethod, suite, cfg: EvalConfig, conditions: Sequence[str] | None = None,
                   kinds: Sequence[str] | None = None, names: dict | None = None) -> KindSchedule:
    """Check the conditions and kinds against the run and the suite, and decide which kind runs where. Kinds asked
    for by name must run on every condition; default kinds that cannot (no expert, nothing to reconstruct) are
    left out, with the reason."""
    nm = {**OPTION_NAMES, **(names or {})}
    conds = list(conditions) if conditions else list(trained.label_names)
    for c in conds:
        try:
            trained.condition_id(c)
            suite.check_condition(c)
        except LWDError as e:
            raise LWDError(f"{nm['conditions']}: {e}" if conditions else f"condition {c!r} of this run cannot be "
                           f"evaluated on {suite.env_id}: {e}") from None
    if len(set(conds)) < len(conds):
        raise LWDError(f"{nm['conditions']} names {next(c for c in conds if conds.count(c) > 1)!r} twice")
    explicit = bool(kinds)
    default = list(trained.policy_kinds) + [EXPERT]     # without an expert, "expert" is left out by name
    available = list(trained.policy_kinds) + ([EXPERT] if suite.has_expert else []) + list(trained.extra_kinds)
    asked = list(kinds) if kinds else default
    if len(set(asked)) < len(asked):
        raise LWDError(f"{nm['kinds']} names {next(k for k in asked if asked.count(k) > 1)!r} twice")
    for k in asked:
        if k == EXPERT and not suite.has_expert and explicit:
            raise LWDError(f"{nm['kinds']} {EXPERT}: {expert_missing(suite, conds[0])}")
        if k not in available and k != EXPERT:
            raise LWDError(f"{nm['kinds']}: unknown policy kind {k!r}; choose from {', '.join(available)}")
    no_expert = {c: expert_missing(suite, c) for c in conds}
    demo_kinds = [k for k in asked if k != EXPERT and trained.needs_demos(k)]
    heldout: dict[str, list] = {}
    gaps: dict[str, dict[str, str]] = {k: {} for k in asked}
    for c in conds:
        if EXPERT in asked and no_expert[c]:
            gaps[EXPERT][c] = no_expert[c]
        if demo_kinds and no_expert[c]:           # nothing fresh to reconstruct: the dataset's held-out episodes
            try:
                heldout[c] = list(trained.heldout_demos(trained.condition_id(c), cfg.episodes))
                why = "" if heldout[c] else "the run holds none of its episodes out (train with " \
                                            "data.holdout_fraction > 0)"
            except LWDError as e:
                heldout[c], why = [], f"its held-out episodes cannot be read ({e})"
            if why:
                for k in demo_kinds:
                    gaps[k][c] = f"nothing to reconstruct for condition {c!r}: {no_expert[c]}, and {why}"
    runs_on, left_out, left_out_conditions = {}, {}, {}
    for k in asked:
        missing = gaps[k]
        if missing and explicit:
            raise LWDError(f"{nm['kinds']} {k}: {next(iter(missing.values()))}")
        runs_on[k] = [c for c in conds if c not in missing]
        if not runs_on[k]:
            first = next(iter(missing.values()))
            rest = ", ".join(repr(c) for c in list(missing)[1:])
            left_out[k] = f"{first}; likewise for {rest}" if len(set(missing.values())) > 1 else first
        elif missing:
            left_out_conditions[k] = missing
    run = [k for k in asked if runs_on[k]]
    if not run:
        raise LWDError("nothing to evaluate: " + "; ".join(f"{k}: {r}" for k, r in left_out.items()))
    wants_expert = set(runs_on.get(EXPERT, [])) | {c for k in demo_kinds for c in runs_on[k] if not no_expert[c]}
    return KindSchedule(conds, run, {k: runs_on[k] for k in run}, [c for c in conds if c in wants_expert], heldout,
                    left_out, left_out_conditions)


def evaluate(trained: TrainedMethod, cfg: EvalConfig, conditions: Sequence[str] | None = None,
             kinds: Sequence[str] | None = None, workers: int | None = None,
             result: dict | None = None, names: dict | None = None) -> Iterator[EvalProgress]:
    """kinds: a subset of the method's policy kinds plus "expert" (default: all of them, less those the suite or
    the data cannot run, which go in result["left_out"] with the reason). The finished result goes in result:
    mean_success, mean_return, per_condition (of the first kind), "methods" with every kind, "left_out" and
    "left_out_conditions". Undefined statistics are None, never NaN. `names`: how messages name each option
    (OPTION_NAMES' keys), e.g. the CLI's flags.

    Every option is checked, and every batch policy that needs no demonstrations is made, before the first episode.
    Each policy kind is one lock-step batch over every condition's episodes (the experts first, since their
    episodes are also the demonstrations that VAE reconstructions need; where a condition has no expert, the
    run's held-out episodes of it are reconstructed instead). Episode e of a condition has the same seed,
    environment and policy whatever the batch or the number of workers, so results do not depend on them."""
    nm = {**OPTION_NAMES, **(names or {})}
    suite = get_suite(trained.env_id)
    if cfg.perturb:
        if not hasattr(suite, "with_perturbations"):
            raise LWDError(f"{nm['perturb']}: {trained.env_id} offers no perturbations")
        suite = suite.with_perturbations()
    workers = check_workers(workers)
    if isinstance(cfg.episodes, bool) or not isinstance(cfg.episodes, int) or cfg.episodes <= 0:
        raise LWDError(f"{nm['episodes']} must be an integer > 0, got {cfg.episodes!r}")
    p = schedule_kinds(trained, suite, cfg, conditions, kinds, names)
    conds, kinds = p.conditions, p.kinds
    n = cfg.episodes
    max_steps = min(cfg.max_steps, suite.episode_length())
    per: dict[str, dict] = {k: {} for k in kinds}
    batches: dict[str, list] = {k: [] for k in kinds}
    t0 = time.perf_counter()
    try:
        seeds = {c: [suite_start_seed(suite, cfg.start_states, cfg.seed, e) for e in range(n)] for c in conds}
    except (ValueError, OverflowError) as e:
        raise LWDError(f"{nm['seed']} {cfg.seed}, {nm['episodes']} {n}: {e}") from None
    top = max(max(s) for s in seeds.values())
    if min(min(s) for s in seeds.values()) < 0 or top > MAX_RESET_SEED:
        raise LWDError(f"{nm['seed']} {cfg.seed} with {nm['episodes']} {n} gives reset seeds up to {top}, past "
                       f"{MAX_RESET_SEED}: choose a smaller {nm['seed']} or fewer {nm['episodes']}")
    phases = ([EXPERT] if p.expert_conditions else []) + [k for k in kinds if k != EXPERT]
    on = {k: (p.expert_conditions if k == EXPERT else p.runs_on[k]) for k in phases}
    total, done = sum(len(on[k]) for k in phases), 0
    with EnvPool(suite, workers) as pool:
        pool.open([c for c in conds for _ in range(n)])
        first_obs = pool.reset([s for c in conds for s in seeds[c]])
        init_obs = {c: first_obs[i * n:(i + 1) * n] for i, c in enumerate(conds)}

        def make(k: str, c: str, kd: list | None):
            cid = trained.condition_id(c)
            m = len(kd) if kd is not None else n
            try:
                bp = trained.batch_policy(k, cid, m, cfg, int_seed("policy", cfg.seed, cid), init_obs[c][:m], kd)
            except LWDError as e:
                if cfg.action_horizon and kd is None:     # e.g. a horizon the run cannot re-sample at
                    raise LWDError(f"{nm['action_horizon']} {cfg.action_horizon}: {e}") from None
                raise
            return bp, m

        # made before any episode runs, so a bad option fails before the first one
        ready = {(k, c): make(k, c, None) for k in kinds if k != EXPERT and not trained.needs_demos(k)
                 for c in p.runs_on[k]}
        demos: dict[str, list] = {}
        for k in phases:
            parts: list[tuple[str, object, int]] = []          # (condition, batch policy, episodes)
            if k == EXPERT:
                parts = [(c, None, n) for c in on[k]]
                pool.open([c for c in on[k] for _ in range(n)], experts=True)
            else:
                for c in on[k]:
                    if trained.needs_demos(k):
                        bp, m = make(k, c, demos[c] if c in demos else p.heldout[c])
                    else:
                        bp, m = ready[(k, c)]
                    parts.append((c, bp, m))
                    batches[k].append((trained.condition_id(c), bp))
                pool.open([c for c, _, m in parts for _ in range(m)])
            act = None if k == EXPERT else _stack([bp for _, bp, _ in parts], [m for _, _, m in parts])
            res = yield from _batch(pool, act, [(c, m) for c, _, m in parts], seeds, max_steps, k,
                                    (done, len(parts), total), record=k == EXPERT)
            for (c, _, _), rows in zip(parts, res):
                if k == EXPERT:
                    demos[c] = rows
                summary = _summary(rows, suite.has_success)
                if k in kinds and c in p.runs_on[k]:
                    per[k][c] = summary
                done += 1
                yield _progress(c, k, done, total, summary)
    res_k = {}
    for k, d in per.items():
        if not d:
            continue
        succ = [v["success"] for v in d.values() if v["success"] is not None]
        res_k[k] = {"mean_success": float(np.mean(succ)) if succ else None,
                    "mean_return": float(np.mean([v["return"] for v in d.values()])), "per_condition": d}
    first = kinds[0] if kinds else ""
    out = dict(res_k.get(first, {"mean_success": None, "mean_return": None, "per_condition": {}}))
    out["methods"] = res_k
    out["left_out"] = dict(p.left_out)
    out["left_out_conditions"] = {k: dict(v) for k, v in p.left_out_conditions.items()}
    for k in kinds:
        if k != EXPERT:
            out.update(trained.extra_metrics(batches[k]))
    sampler = getattr(trained, "sampler", cfg.sampler)
    out.update(env_id=trained.env_id, episodes=n, seed=cfg.seed, sampler=sampler,
               ddim_steps=getattr(trained, "ddim_steps", cfg.ddim_steps), heldout_placements=suite.episode_variation == "placements",
               episode_variation=suite.episode_variation, perturb=bool(cfg.perturb),
               action_horizon=int(cfg.action_horizon),
               seconds=time.perf_counter() - t0, n_params=trained.n_params, workers=workers, max_steps=max_steps)
    if hasattr(suite, "foot_labels"):           # suites whose episodes report foot contacts name the feet
        out["foot_labels"] = list(suite.foot_labels)
    if result is not None:
        result.update(_defined(out))


def _defined(x):
    """x with every NaN or infinite float (an undefined statistic) as None, so JSON gets null, never NaN."""
    if isinstance(x, dict):
        return {k: _defined(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_defined(v) for v in x]
    if isinstance(x, (float, np.floating)) and not np.isfinite(x):
        return None
    return x


def _batch(pool: EnvPool, act, groups: list[tuple[str, int]], seeds: dict, max_steps: int, kind: str,
           progress: tuple[int, int, int], record: bool = False):
    """Roll out every group's episodes as one lock-step batch; yields in-batch progress (fractions of the groups'
    share of the total), returns one list of episode results per group."""
    base, width, total = progress
    steps = rollout_pool_steps(pool, act, [s for c, m in groups for s in seeds[c][:m]], max_steps, record)
    while True:
        try:
            t = next(steps)
        except StopIteration as stop:
            rows = stop.value
            break
        if t % 25 == 0:
            yield EvalProgress(f"{len(groups)} conditions", kind, base + width * t / max_steps, total, None,
                               float("nan"))
    out, i = [], 0
    for _, m in groups:
        out.append(rows[i:i + m])
        i += m
    return out


class _Stacked:
    """Several conditions' batch policies called in turn on their slices of the batch (for classes without
    concat(); see _stack)."""

    def __init__(self, parts: list, sizes: list[int]):
        self.parts, self.bounds = parts, np.cumsum([0] + list(sizes))

    def __call__(self, obs: np.ndarray, live: np.ndarray | None = None) -> np.ndarray:
        live = np.ones(len(obs), bool) if live is None else live
        return np.concatenate([p(obs[a:b], live[a:b]) for p, a, b in zip(self.parts, self.bounds[:-1], self.bounds[1:])])


def _stack(parts: list, sizes: list[int]):
    cls = type(parts[0])
    if len(parts) > 1 and all(type(p) is cls for p in parts) and hasattr(cls, "concat"):
        return cls.concat(parts)
    return parts[0] if len(parts) == 1 else _Stacked(parts, sizes)


def _progress(c, m, done, total, s) -> EvalProgress:
    return EvalProgress(c, m, done, total, s["success"], s["return"])
