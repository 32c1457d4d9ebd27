"""Closed-loop rollouts. They know nothing about a display: frames go to an optional callback."""
from __future__ import annotations

from typing import Callable, Generator, Sequence

import numpy as np

from .parallel import EnvPool


def rollout(env, policy, seed: int, on_frame: Callable[[np.ndarray, dict], None] | None = None,
            max_steps: int | None = None, record: bool = False, frame_every: int = 1,
            should_stop: Callable[[], bool] | None = None) -> dict:
    """Run `policy` (reset()/act(obs)) for one episode; success = info['success'] or info['is_success'] at any
    step. `on_frame(frame, {"t", "return", "success"})` gets a rendered frame every `frame_every` steps;
    `should_stop()` can end the episode early (the result then has "aborted": True)."""
    max_steps = max_steps or getattr(env, "max_episode_steps", None) or 1000
    obs, _ = env.reset(seed=seed)
    policy.reset()
    total, success, obs_l, act_l, aborted, best = 0.0, False, [], [], False, -np.inf
    if on_frame is not None:
        on_frame(env.render(), {"t": 0, "return": 0.0, "success": False})
    t = 0
    for t in range(1, max_steps + 1):
        a = np.asarray(policy.act(obs), dtype=np.float32)
        if record:
            obs_l.append(obs)
            act_l.append(a)
        obs, r, term, trunc, info = env.step(a)
        total += float(r)
        best = max(best, float(r))
        success |= bool(info.get("success", info.get("is_success", False)))
        if on_frame is not None and t % frame_every == 0:
            on_frame(env.render(), {"t": t, "return": total, "success": success})
        if term or trunc:
            break
        if should_stop is not None and should_stop():
            aborted = True
            break
    out = {"return": total, "success": success, "length": t, "max_reward": best if t else 0.0}
    if aborted:
        out["aborted"] = True
    if record:
        out["obs"], out["act"] = np.array(obs_l), np.array(act_l)
    return out


def rollout_pool(pool: EnvPool, act_batch: Callable[[np.ndarray], np.ndarray] | None, seeds: Sequence[int],
                 max_steps: int, record: bool = False) -> list[dict]:
    """Step the pool's len(seeds) open episodes in lock-step. `act_batch(obs, live)` maps (B, obs_dim) -> (B,
    act_dim) in one call (`live`: the episodes not yet finished; see types.BatchPolicy), so a batch of generated policies costs one batched matmul per layer per step; act_batch=None lets
    the scripted experts act inside the workers."""
    steps = rollout_pool_steps(pool, act_batch, seeds, max_steps, record)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def rollout_pool_steps(pool: EnvPool, act_batch: Callable[[np.ndarray], np.ndarray] | None, seeds: Sequence[int],
                       max_steps: int, record: bool = False) -> Generator[int, None, list[dict]]:
    """rollout_pool() as a generator: yields the number of control steps done, returns the episodes' results."""
    B = len(seeds)
    obs = pool.reset(seeds)
    alive = np.ones(B, bool)
    ret, succ, length = np.zeros(B), np.zeros(B, bool), np.zeros(B, int)
    best = np.full(B, -np.inf)
    obs_l, act_l = [], []
    for t in range(max_steps):
        # finished episodes are passed as not live: policies neither query nor count them
        acts = None if act_batch is None else np.asarray(act_batch(obs, alive.copy()), dtype=np.float32)
        obs_prev = obs
        obs, r, term, trunc, s, acts = pool.step(acts, alive)
        if record:
            obs_l.append(obs_prev.copy())
            act_l.append(acts)
        ret += r
        best[alive] = np.maximum(best[alive], r[alive])
        length[alive] = t + 1
        succ |= s
        alive &= ~(term | trunc)
        if not alive.any():
            break
        yield t + 1
    out = [{"return": float(ret[i]), "success": bool(succ[i]), "length": int(length[i]),
            "max_reward": float(best[i]) if length[i] else 0.0} for i in range(B)]
    for o, s in zip(out, pool.stats()):
        if s:
            o["stats"] = s                      # e.g. locomotion's per-foot contact fractions
    if record:
        O, A = np.stack(obs_l, 1), np.stack(act_l, 1)                  # (B, T, dim)
        for i in range(B):
            out[i]["obs"], out[i]["act"] = O[i, :length[i]], A[i, :length[i]]
    return out
