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
from .rollout import rollout_pool

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
    return {"success": float(np.mean([r["success"] for r in rows])) if has_success else None,
            "return": float(np.mean([r["return"] for r in rows])), "episodes": len(rows)}


def evaluate_run(run_dir, cfg: EvalConfig, conditions: Sequence[str] | None = None,
                 kinds: Sequence[str] | None = None, workers: int | None = None,
                 result: dict | None = None) -> Iterator[EvalProgress]:
    """Load the run with its method's inference code, then evaluate() it."""
    yield from evaluate(load_trained(run_dir), cfg, conditions, kinds, workers, result)


def evaluate(trained: TrainedMethod, cfg: EvalConfig, conditions: Sequence[str] | None = None,
             kinds: Sequence[str] | None = None, workers: int | None = None,
             result: dict | None = None) -> Iterator[EvalProgress]:
    """kinds: a subset of the method's policy kinds plus "expert" (default: all of them). The finished result
    goes in result: mean_success, mean_return, per_condition (of the first kind) and "methods" with every kind."""
    suite = get_suite(trained.env_id)
    workers = check_workers(workers)
    conds = list(conditions) if conditions else list(trained.label_names)
    for c in conds:
        trained.condition_id(c)
        suite.check_condition(c)
    available = list(trained.policy_kinds) + ([EXPERT] if suite.has_expert else [])
    # a suite without a scripted expert simply has no "expert" row; any other unknown kind is an error
    kinds = [k for k in (kinds or available) if k != EXPERT or suite.has_expert]
    for k in kinds:
        if k not in available:
            raise LWDError(f"unknown policy kind {k!r} for this run; choose from {', '.join(available)}")
    n = cfg.episodes
    max_steps = min(cfg.max_steps, suite.episode_length())
    per: dict[str, dict] = {k: {} for k in kinds}
    batches: dict[str, list] = {k: [] for k in kinds}
    t0 = time.perf_counter()
    total, done = len(conds) * len(kinds), 0
    with EnvPool(suite, workers) as pool:
        for c in conds:
            cid = trained.condition_id(c)
            seeds = [suite.eval_seed(cfg.seed, e) for e in range(n)]
            need_demos = any(trained.needs_demos(k) for k in kinds)
            pool.open(c, n, experts=suite.has_expert and (EXPERT in kinds or need_demos))
            init_obs = pool.reset(seeds)
            demos = None
            if suite.has_expert and (EXPERT in kinds or need_demos):
                demos = rollout_pool(pool, None, seeds, max_steps, record=True)
                if EXPERT in kinds:
                    per[EXPERT][c] = _summary(demos, suite.has_success)
                    done += 1
                    yield _progress(c, EXPERT, done, total, per[EXPERT][c])
            for k in kinds:
                if k == EXPERT:
                    continue
                kd = None
                if trained.needs_demos(k):
                    kd = demos if demos is not None else trained.heldout_demos(cid, n)
                    if not kd:
                        continue                     # nothing to reconstruct for this condition
                m = len(kd) if kd is not None else n
                if m < n:
                    pool.open(c, m, experts=False)
                bp = trained.batch_policy(k, cid, m, cfg, cfg.seed * 7919 + cid, init_obs[:m], kd)
                per[k][c] = _summary(rollout_pool(pool, bp, seeds[:m], max_steps), suite.has_success)
                batches[k].append((cid, bp))
                if m < n:
                    pool.open(c, n, experts=False)
                done += 1
                yield _progress(c, k, done, total, per[k][c])
    res = {}
    for k, d in per.items():
        if not d:
            continue
        succ = [v["success"] for v in d.values() if v["success"] is not None]
        res[k] = {"mean_success": float(np.mean(succ)) if succ else None,
                  "mean_return": float(np.mean([v["return"] for v in d.values()])), "per_condition": d}
    first = kinds[0] if kinds else ""
    out = dict(res.get(first, {"mean_success": None, "mean_return": float("nan"), "per_condition": {}}))
    out["methods"] = res
    for k in kinds:
        if k != EXPERT:
            out.update(trained.extra_metrics(batches[k]))
    sampler = getattr(trained, "sampler", cfg.sampler)
    out.update(env_id=trained.env_id, episodes=n, seed=cfg.seed, sampler=sampler,
               ddim_steps=getattr(trained, "ddim_steps", cfg.ddim_steps), heldout_placements=suite.episode_variation == "placements",
               episode_variation=suite.episode_variation,
               seconds=time.perf_counter() - t0, n_params=trained.n_params, workers=workers, max_steps=max_steps)
    if result is not None:
        result.update(out)


def _progress(c, m, done, total, s) -> EvalProgress:
    return EvalProgress(c, m, done, total, s["success"], s["return"])
