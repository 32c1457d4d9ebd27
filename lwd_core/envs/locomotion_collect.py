"""`lwd-studio collect locomotion`: a labelled mixture of behaviours (D4RL's expert / medium / random) from the
shipped behaviour policies, in the D4RL layout.

Each step's action is the behaviour's own Gaussian sample, a = tanh(mu + sigma * eps), as in D4RL (the paper's
a = pi(s) + eps); `infos/action_mean` keeps tanh(mu). Per step the file also holds `infos/qpos`, `infos/qvel` (the
state before the step, as D4RL stores it) and `infos/feet` (which feet touch the floor after it); `labels` names
the behaviour, and `infos/reset_seed` each episode's start state (`seeds.py`). Episodes run for 1000 steps unless the env terminates them (Walker2d and Ant can fall)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .. import seeds
from ..data.hdf5 import Dataset
from ..errors import ConfigError
from ..schema import check_fields, setting
from .behaviours import LEVELS, load_behaviour
from .collect import CollectProgress, end_flags, map_episodes
from .locomotion import ENVS, EPISODE_LENGTH, SHORT, LocomotionSuite, env_id_of
from .registry import Collector, register_collector


@dataclass(frozen=True)
class LocomotionCollectConfig:
    env: str = setting("halfcheetah", f"environment: {', '.join(SHORT)} (or its gymnasium id)")
    behaviors: str = setting("expert,medium,random", "comma-separated behaviour levels, each a shipped policy")
    episodes: int = setting(32, "episodes per behaviour", gt=0)
    episode_length: int = setting(EPISODE_LENGTH, "steps per episode at most", gt=0, le=EPISODE_LENGTH)
    seed: int = setting(0, "reset and action-noise seed", ge=0)

    def __post_init__(self):
        check_fields(self)
        env_id_of(self.env)
        levels = self.levels()
        if not levels or len(set(levels)) != len(levels):
            raise ConfigError(f"`behaviors` must name distinct levels, e.g. {','.join(LEVELS)}; got {self.behaviors!r}")

    def levels(self) -> list[str]:
        return [x.strip() for x in self.behaviors.split(",") if x.strip()]


def collect_locomotion(cfg: LocomotionCollectConfig, workers: int = 1,
                       result: dict | None = None) -> Iterator[CollectProgress]:
    """Generator: one record per episode; the finished Dataset goes in result["dataset"]."""
    env_id = env_id_of(cfg.env)
    levels = cfg.levels()
    for lv in levels:
        load_behaviour(env_id, lv)                       # a missing policy fails now, not in a worker
    jobs = [(env_id, lv, li, ep, cfg) for li, lv in enumerate(levels) for ep in range(cfg.episodes)]
    eps = []
    for k, ep in enumerate(map_episodes(_episode, jobs, workers)):
        eps.append(ep)
        yield CollectProgress(jobs[k][1], jobs[k][3], k + 1, len(jobs), None)
    cat = {key: np.concatenate([e[key] for e in eps]) for key in eps[0] if key != "return"}
    returns = {lv: [float(e["return"]) for e, j in zip(eps, jobs) if j[1] == lv] for lv in levels}
    ds = Dataset(observations=cat["obs"], actions=cat["act"], rewards=cat["rew"], terminals=cat["term"],
                 timeouts=cat["tout"], labels=cat["label"], label_names=levels,
                 infos={"action_mean": cat["mean"], "qpos": cat["qpos"], "qvel": cat["qvel"], "feet": cat["feet"],
                        "reset_seed": cat["reset_seed"]},
                 attrs={"env_id": env_id, "collector": "shipped behaviour policies with their Gaussian noise",
                        "seed": int(cfg.seed), "episodes_per_behavior": int(cfg.episodes),
                        "foot_geoms": ",".join(ENVS[env_id][1]),
                        "returns": str({lv: round(float(np.mean(r)), 1) for lv, r in returns.items()})})
    if result is not None:
        result["dataset"] = ds
        result["returns"] = returns


def _episode(job) -> dict[str, np.ndarray]:
    env_id, level, li, ep, cfg = job
    suite = LocomotionSuite(env_id)
    policy = load_behaviour(env_id, level)
    rng = seeds.rng("collect_noise", cfg.seed, li, ep)
    env = suite.make(level)
    reset_seed = seeds.suite_start_seed(suite, "collect", cfg.seed, li, ep)
    obs, _ = env.reset(seed=reset_seed)
    data = env.env.unwrapped.data
    rows: dict[str, list] = {k: [] for k in ("obs", "act", "mean", "rew", "qpos", "qvel", "feet")}
    term = False
    for _ in range(cfg.episode_length):
        a, mean = policy.sample(obs, rng)
        rows["qpos"].append(data.qpos.copy())
        rows["qvel"].append(data.qvel.copy())
        o2, r, term, trunc, info = env.step(a)
        for k, v in (("obs", obs), ("act", a), ("mean", mean), ("rew", r), ("feet", info["feet"])):
            rows[k].append(v)
        obs = o2
        if term or trunc:
            break
    env.close()
    n = len(rows["obs"])
    out = {"obs": np.asarray(rows["obs"], np.float32), "act": np.asarray(rows["act"], np.float32),
           "mean": np.asarray(rows["mean"], np.float32), "rew": np.asarray(rows["rew"], np.float32),
           "qpos": np.asarray(rows["qpos"]), "qvel": np.asarray(rows["qvel"]), "feet": np.asarray(rows["feet"], bool),
           "label": np.full(n, li, np.int64), "reset_seed": np.full(n, reset_seed, np.int64),
           "return": float(np.sum(rows["rew"]))}
    out["term"], out["tout"] = end_flags(n, term)
    return out


register_collector(Collector("locomotion", "behaviour mixtures (expert/medium/random) for HalfCheetah, Walker2d, Ant",
                             LocomotionCollectConfig, collect_locomotion, version="2"))   # 2: seeds.py start states
