"""Untrained but distinct behaviour policies, written where the locomotion suite looks for shipped ones."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lwd_core.envs.behaviours import BehaviourPolicy


def random_policy(obs_dim, act_dim, seed, hidden=(32, 32), card=None) -> BehaviourPolicy:
    rng = np.random.default_rng(seed)
    dims = [obs_dim, *hidden]
    layers = [(rng.normal(0, 1 / np.sqrt(a), (b, a)), np.zeros(b)) for a, b in zip(dims[:-1], dims[1:])]
    return BehaviourPolicy(layers, (rng.normal(0, 0.5, (act_dim, hidden[-1])), rng.normal(0, 0.5, act_dim)),
                           (np.zeros((act_dim, hidden[-1])), np.full(act_dim, -1.0)), card or {})


def write_behaviours(folder: Path, env_id: str = "HalfCheetah-v5", obs_dim: int = 17, act_dim: int = 6) -> Path:
    for i, lv in enumerate(("expert", "medium", "random")):
        random_policy(obs_dim, act_dim, i, card={"env": env_id, "level": lv}).save(
            Path(folder) / f"{env_id}-{lv}.safetensors")
    return Path(folder)
