"""Closed-loop rollouts. They know nothing about a display: frames go to an optional callback."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def rollout(env, policy, seed: int, on_frame: Callable[[np.ndarray, dict], None] | None = None,
            max_steps: int | None = None, record: bool = False, frame_every: int = 1,
            should_stop: Callable[[], bool] | None = None) -> dict:
    """Run `policy` (reset()/act(obs)) for one episode; success = info['success'] or info['is_success'] at any
    step. `on_frame(frame, {"t", "return", "success"})` gets a rendered frame every `frame_every` steps;
    `should_stop()` can end the episode early (the result then has "aborted": True)."""
    max_steps = max_steps or getattr(env, "max_episode_steps", None) or 1000
    obs, _ = env.reset(seed=seed)
    policy.reset()
    total, success, obs_l, act_l, aborted = 0.0, False, [], [], False
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
        success |= bool(info.get("success", info.get("is_success", False)))
        if on_frame is not None and t % frame_every == 0:
            on_frame(env.render(), {"t": t, "return": total, "success": success})
        if term or trunc:
            break
        if should_stop is not None and should_stop():
            aborted = True
            break
    out = {"return": total, "success": success, "length": t}
    if aborted:
        out["aborted"] = True
    if record:
        out["obs"], out["act"] = np.array(obs_l), np.array(act_l)
    return out


def rollout_batch(envs: Sequence, act_batch: Callable[[np.ndarray], np.ndarray], seeds: Sequence[int],
                  max_steps: int, record: bool = False) -> list[dict]:
    """Step len(envs) envs in lock-step; `act_batch` maps (B, obs_dim) -> (B, act_dim) in one call,
    so a batch of generated policies costs one batched matmul per layer per step."""
    B = len(envs)
    obs = np.stack([e.reset(seed=s)[0] for e, s in zip(envs, seeds)])
    alive = np.ones(B, bool)
    ret, succ, length = np.zeros(B), np.zeros(B, bool), np.zeros(B, int)
    obs_l, act_l = [], []
    for t in range(max_steps):
        acts = np.asarray(act_batch(obs), dtype=np.float32)
        if record:
            obs_l.append(obs.copy())
            act_l.append(acts)
        for i in np.flatnonzero(alive):
            o, r, term, trunc, info = envs[i].step(acts[i])
            obs[i] = o
            ret[i] += r
            length[i] = t + 1
            succ[i] |= bool(info.get("success", info.get("is_success", False)))
            if term or trunc:
                alive[i] = False
        if not alive.any():
            break
    out = [{"return": float(ret[i]), "success": bool(succ[i]), "length": int(length[i])} for i in range(B)]
    if record:
        O, A = np.stack(obs_l, 1), np.stack(act_l, 1)                  # (B, T, dim)
        for i in range(B):
            out[i]["obs"], out[i]["act"] = O[i, :length[i]], A[i, :length[i]]
    return out


class ExpertBatch:
    """Per-env scripted experts behind the batched act() interface (they are Python, not matrices)."""

    def __init__(self, experts: Sequence):
        self.experts = list(experts)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.stack([e.act(o) for e, o in zip(self.experts, obs)])
