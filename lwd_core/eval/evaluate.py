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
from ..types import TrainedMethod
from .parallel import EnvPool
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
                 result: dict | None = None) -> Iterator[EvalProgress]:
    """Load the run with its method's inference code, then evaluate() it."""
    yield from evaluate(load_trained(run_dir), cfg, conditions, kinds, workers, result)


def evaluate(trained: TrainedMethod, cfg: EvalConfig, conditions: Sequence[str] | None = None,
             kinds: Sequence[str] | None = None, workers: int | None = None,
             result: dict | None = None) -> Iterator[EvalProgress]:
    """kinds: a subset of the method's policy kinds plus "expert" (default: all of them). The finished result
    goes in result: mean_success, mean_return, per_condition (of the first kind) and "methods" with every kind.

    Each policy kind is one lock-step batch over every condition's episodes (the experts first, since their
    episodes are also the demonstrations that VAE reconstructions need). Episode e of a condition has the same
    seed, environment and policy whatever the batch or the number of workers, so results do not depend on them."""
    suite = get_suite(trained.env_id)
    if cfg.perturb:
        if not hasattr(suite, "with_perturbations"):
            raise LWDError(f"{trained.env_id} offers no perturbations (eval.perturb)")
        suite = suite.with_perturbations()
    workers = check_workers(workers)
    conds = list(conditions) if conditions else list(trained.label_names)
    for c in conds:
        trained.condition_id(c)
        suite.check_condition(c)
    default = list(trained.policy_kinds) + ([EXPERT] if suite.has_expert else [])
    available = default + list(trained.extra_kinds)
    # a suite without a scripted expert simply has no "expert" row; any other unknown kind is an error
    kinds = [k for k in (kinds or default) if k != EXPERT or suite.has_expert]
    for k in kinds:
        if k not in available:
            raise LWDError(f"unknown policy kind {k!r}; choose from {', '.join(available)}")
    n = cfg.episodes
    max_steps = min(cfg.max_steps, suite.episode_length())
    per: dict[str, dict] = {k: {} for k in kinds}
    batches: dict[str, list] = {k: [] for k in kinds}
    t0 = time.perf_counter()
    seeds = {c: [suite.eval_seed(cfg.seed, e) for e in range(n)] for c in conds}
    want_demos = suite.has_expert and (EXPERT in kinds or any(trained.needs_demos(k) for k in kinds))
    phases = ([EXPERT] if want_demos else []) + [k for k in kinds if k != EXPERT]
    total, done = len(conds) * len(phases), 0
    with EnvPool(suite, workers) as pool:
        pool.open([c for c in conds for _ in range(n)], experts=want_demos)
        first_obs = pool.reset([s for c in conds for s in seeds[c]])
        init_obs = {c: first_obs[i * n:(i + 1) * n] for i, c in enumerate(conds)}
        demos: dict[str, list] = {}
        for k in phases:
            parts: list[tuple[str, object, int]] = []          # (condition, batch policy, episodes)
            if k == EXPERT:
                parts = [(c, None, n) for c in conds]            # the pool is open with the experts already
            else:
                for c in conds:
                    cid = trained.condition_id(c)
                    kd = None
                    if trained.needs_demos(k):
                        kd = demos[c] if c in demos else trained.heldout_demos(cid, n)
                        if not kd:
                            done += 1
                            continue                             # nothing to reconstruct for this condition
                    m = len(kd) if kd is not None else n
                    bp = trained.batch_policy(k, cid, m, cfg, cfg.seed * 7919 + cid, init_obs[c][:m], kd)
                    parts.append((c, bp, m))
                    batches[k].append((cid, bp))
                if not parts:
                    continue
                pool.open([c for c, _, m in parts for _ in range(m)])
            act = None if k == EXPERT else _stack([bp for _, bp, _ in parts], [m for _, _, m in parts])
            res = yield from _batch(pool, act, [(c, m) for c, _, m in parts], seeds, max_steps, k,
                                    (done, len(parts), total), record=k == EXPERT)
            for (c, _, _), rows in zip(parts, res):
                if k == EXPERT:
                    demos[c] = rows
                summary = _summary(rows, suite.has_success)
                if k in kinds:
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
    out = dict(res_k.get(first, {"mean_success": None, "mean_return": float("nan"), "per_condition": {}}))
    out["methods"] = res_k
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
        result.update(out)


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

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.concatenate([p(obs[a:b]) for p, a, b in zip(self.parts, self.bounds[:-1], self.bounds[1:])])


def _stack(parts: list, sizes: list[int]):
    cls = type(parts[0])
    if len(parts) > 1 and all(type(p) is cls for p in parts) and hasattr(cls, "concat"):
        return cls.concat(parts)
    return parts[0] if len(parts) == 1 else _Stacked(parts, sizes)


def _progress(c, m, done, total, s) -> EvalProgress:
    return EvalProgress(c, m, done, total, s["success"], s["return"])
