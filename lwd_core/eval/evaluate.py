"""Evaluate a trained run: LWD-sampled policies, VAE-reconstructed policies and (on MT10) the
scripted experts, on the same held-out placements/seeds. A generator, like the training loops."""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch

from ..config import EvalConfig
from ..envs.mt10 import MT10_TASKS, PlacedEnv, ScriptedExpert, eval_placement_seed
from ..errors import LWDError
from ..lwd import TrainedLWD, novelty
from .rollout import ExpertBatch, rollout_batch


@dataclass(frozen=True)
class EvalProgress:
    condition: str
    method: str
    done: int
    total: int
    success: float | None
    mean_return: float


def make_envs(env_id: str, condition: str, n: int) -> list:
    if env_id == "mt10":
        return [PlacedEnv(condition) for _ in range(n)]
    os.environ.setdefault("MUJOCO_GL", "egl")
    import gymnasium as gym
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            envs = [GymEnv(gym.make(env_id)) for _ in range(n)]
        except Exception as e:  # gymnasium raises several kinds for unknown/broken ids
            raise LWDError(f"cannot make environment {env_id!r}: {e}") from None
    return envs


class GymEnv:
    def __init__(self, env):
        self.env = env
        self.max_episode_steps = env.spec.max_episode_steps if env.spec else None

    def reset(self, seed=None):
        o, info = self.env.reset(seed=seed)
        return np.asarray(o, np.float32), info

    def step(self, a):
        o, r, term, trunc, info = self.env.step(a)
        return np.asarray(o, np.float32), float(r), bool(term), bool(trunc), info

    def render(self):
        return self.env.render()

    def close(self):
        self.env.close()


def _summary(rows: list[dict], has_success: bool) -> dict:
    return {"success": float(np.mean([r["success"] for r in rows])) if has_success else None,
            "return": float(np.mean([r["return"] for r in rows])), "episodes": len(rows)}


def evaluate(lwd: TrainedLWD, cfg: EvalConfig, conditions: Sequence[str] | None = None,
             methods: Sequence[str] = ("lwd", "vae", "expert"), result: dict | None = None
             ) -> Iterator[EvalProgress]:
    env_id = lwd.env_id
    if not env_id:
        raise LWDError("the run has no environment id: pass --env when training, or set `env_id` in the dataset")
    mt10 = env_id == "mt10"
    conds = list(conditions) if conditions else list(lwd.label_names)
    for c in conds:
        lwd.condition_id(c)
        if mt10 and c not in MT10_TASKS:
            raise LWDError(f"condition {c!r} is not an MT10 task")
    methods = [m for m in methods if mt10 or m != "expert"]
    n = cfg.episodes
    max_steps = min(cfg.max_steps, 500) if mt10 else cfg.max_steps
    per = {m: {} for m in methods}
    nov_z, nov_c = [], []
    held: dict = {}                       # the run's dataset, loaded once if held-out demos are needed
    t0 = time.perf_counter()
    total = len(conds) * len(methods)
    done = 0
    for c in conds:
        cid = lwd.condition_id(c)
        envs = make_envs(env_id, c, n)
        try:
            seeds = [eval_placement_seed(cfg.seed, e) if mt10 else 10_000 + cfg.seed * 1000 + e for e in range(n)]
            init_obs = np.stack([e.reset(seed=s)[0] for e, s in zip(envs, seeds)])
            demos = None
            if "expert" in methods or ("vae" in methods and mt10):
                ex = ExpertBatch([ScriptedExpert(c) for _ in range(n)])
                demos = rollout_batch(envs, ex, seeds, max_steps, record=True)
                if "expert" in methods:
                    per["expert"][c] = _summary(demos, mt10)
                    done += 1
                    yield _progress(c, "expert", done, total, per["expert"][c])
            if "lwd" in methods:
                z = lwd.sample_latents(np.full(n, cid), cfg.sampler, cfg.ddim_steps, seed=cfg.seed * 7919 + cid,
                                       init_obs=init_obs)
                nov_z.append(z)
                nov_c.append(torch.full((n,), cid))
                pb = lwd.policy_batch(lwd.decode(z))
                per["lwd"][c] = _summary(rollout_batch(envs, pb.act, seeds, max_steps), mt10)
                done += 1
                yield _progress(c, "lwd", done, total, per["lwd"][c])
            if "vae" in methods:
                if demos is None:
                    if "ds" not in held:
                        held["ds"] = _heldout_dataset(lwd)
                    demos = _heldout_demos(lwd, held["ds"], cid, n)
                if demos:
                    L = max(len(d["obs"]) for d in demos)
                    O = np.zeros((len(demos), L, lwd.spec.obs_dim), np.float32)
                    A = np.zeros((len(demos), L, lwd.spec.act_dim), np.float32)
                    M = np.zeros((len(demos), L), np.float32)
                    for i, d in enumerate(demos):
                        O[i, :len(d["obs"])], A[i, :len(d["act"])], M[i, :len(d["obs"])] = d["obs"], d["act"], 1
                    pb = lwd.policy_batch(lwd.decode(lwd.encode(O, A, M)))
                    k = len(demos)
                    per["vae"][c] = _summary(rollout_batch(envs[:k], pb.act, seeds[:k], max_steps), mt10)
                    done += 1
                    yield _progress(c, "vae", done, total, per["vae"][c])
        finally:
            for e in envs:
                e.close()
    res = {}
    for m, d in per.items():
        if not d:
            continue
        succ = [v["success"] for v in d.values() if v["success"] is not None]
        res[m] = {"mean_success": float(np.mean(succ)) if succ else None,
                  "mean_return": float(np.mean([v["return"] for v in d.values()])), "per_condition": d}
    out = dict(res.get("lwd", {"mean_success": None, "mean_return": float("nan"), "per_condition": {}}))
    out["methods"] = res
    if nov_z and lwd.latents is not None:
        mu, lab = lwd.training_latents()
        out["novelty"] = novelty(torch.cat(nov_z), torch.cat(nov_c), mu, lab)
    out.update(env_id=env_id, episodes=n, seed=cfg.seed, sampler=cfg.sampler, ddim_steps=cfg.ddim_steps,
               heldout_placements=mt10, seconds=time.perf_counter() - t0)
    if result is not None:
        result.update(out)


def _heldout_dataset(lwd: TrainedLWD):
    from ..data.hdf5 import load_dataset
    return load_dataset(lwd.meta["dataset"]) if lwd.meta.get("heldout_episodes") else None


def _heldout_demos(lwd: TrainedLWD, ds, cid: int, n: int) -> list[dict]:
    """Held-out episodes of the run's dataset for this condition (non-MT10 runs)."""
    if ds is None:
        return []
    held = lwd.meta["heldout_episodes"]
    b = ds.episode_bounds()
    lab = ds.episode_labels()
    tgt = ds.action_labels if ds.action_labels is not None else ds.actions
    out = [{"obs": ds.observations[b[i][0]:b[i][1]], "act": tgt[b[i][0]:b[i][1]]} for i in held if lab[i] == cid]
    return out[:n]


def _progress(c, m, done, total, s) -> EvalProgress:
    return EvalProgress(c, m, done, total, s["success"], s["return"])
