"""Evaluate a trained baseline run (MLP-BC or Diffusion Policy) exactly as LWD is evaluated: same envs,
same held-out placements, same summary format."""
from __future__ import annotations

import time
from typing import Iterator, Sequence

import numpy as np
import torch

from ..config import EvalConfig
from ..envs.mt10 import eval_placement_seed
from ..errors import LWDError
from ..train.baselines import load_baseline
from .evaluate import EvalProgress, _progress, _summary, make_envs
from .rollout import rollout_batch


class MLPBatch:
    def __init__(self, model, task: int):
        self.model, self.task = model, task

    @torch.no_grad()
    def __call__(self, obs: np.ndarray) -> np.ndarray:
        o = torch.as_tensor(np.asarray(obs, np.float32))
        return self.model(o, torch.full((len(o),), self.task, dtype=torch.long)).numpy()


class DPBatch:
    """B receding-horizon Diffusion Policies in lock-step: one batched diffusion query every H_a steps."""

    def __init__(self, model, task: int, ddim_steps: int | None, seed: int):
        self.model, self.task, self.steps = model, task, ddim_steps
        self.gen = torch.Generator().manual_seed(seed)
        self.hist = None
        self.plan: list[np.ndarray] = []
        self.queries = 0

    @torch.no_grad()
    def __call__(self, obs: np.ndarray) -> np.ndarray:
        o = torch.as_tensor(np.asarray(obs, np.float32))                      # (B, obs_dim)
        sp = self.model.spec
        self.hist = o[:, None].repeat(1, sp.n_obs, 1) if self.hist is None else torch.cat([self.hist[:, 1:], o[:, None]], 1)
        if not self.plan:
            chunk = self.model.sample(self.hist, torch.full((len(o),), self.task, dtype=torch.long), self.steps,
                                      self.gen).numpy()                       # (B, H, act_dim)
            self.plan = [chunk[:, j] for j in range(sp.n_obs - 1, sp.n_obs - 1 + sp.n_action)]
            self.queries += 1
        return self.plan.pop(0)


def evaluate_baseline(run_dir, cfg: EvalConfig, conditions: Sequence[str] | None = None,
                      result: dict | None = None) -> Iterator[EvalProgress]:
    rcfg, model, meta = load_baseline(run_dir)
    env_id, names = meta["env_id"], list(meta["label_names"])
    mt10 = env_id == "mt10"
    conds = list(conditions) if conditions else names
    for c in conds:
        if c not in names:
            raise LWDError(f"unknown condition {c!r}; this run knows: {', '.join(names)}")
    n, max_steps = cfg.episodes, min(cfg.max_steps, 500) if mt10 else cfg.max_steps
    per, t0 = {}, time.perf_counter()
    for k, c in enumerate(conds):
        cid = names.index(c)
        envs = make_envs(env_id, c, n)
        try:
            seeds = [eval_placement_seed(cfg.seed, e) if mt10 else 10_000 + cfg.seed * 1000 + e for e in range(n)]
            if rcfg.method == "mlp_bc":
                act = MLPBatch(model, cid)
            else:
                steps = rcfg.baseline.ddim_steps or None
                act = DPBatch(model, cid, steps, cfg.seed * 7919 + cid)
            per[c] = _summary(rollout_batch(envs, act, seeds, max_steps), mt10)
        finally:
            for e in envs:
                e.close()
        yield _progress(c, rcfg.method, k + 1, len(conds), per[c])
    succ = [v["success"] for v in per.values() if v["success"] is not None]
    summary = {"mean_success": float(np.mean(succ)) if succ else None,
               "mean_return": float(np.mean([v["return"] for v in per.values()])), "per_condition": per}
    if result is not None:
        result.update(summary, methods={rcfg.method: summary}, env_id=env_id, episodes=n, seed=cfg.seed,
                      sampler="ddim" if rcfg.baseline.ddim_steps else "ddpm", ddim_steps=rcfg.baseline.ddim_steps,
                      heldout_placements=mt10, seconds=time.perf_counter() - t0, n_params=meta["n_params"])
