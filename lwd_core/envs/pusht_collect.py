"""`lwd-studio collect pusht`: demonstrations from the push planner (`pusht_planner.py`), in the D4RL layout.

Human PushT demonstrations cannot be downloaded here, so these are our own. Their variety comes per episode, as a
person's would: the side of the T's first push (left or right of its stem) is drawn at random, and every push is
sampled. Per step the file holds `infos/coverage`; per episode (repeated on its steps) `infos/first_side` (-1
left, +1 right, in the T's own frame), `infos/episode_seed`, and `infos/success` marks the step that reached 95%
coverage. `actions` are what the env executed: the planner's target positions scaled to [-1, 1], plus a slowly
varying offset while the block covers at most 80% of the goal (an AR(1) process with std `noise` px, 10 by
default, and correlation NOISE_CORR per step), so that the agent strays off the planned path for several steps at
a time, as a person's hand would. The planner's own targets go in `infos/action_labels` (DART-style, as MT10's
collector does): a policy trained on them learns to return to the path from states the plain planner never visits.
With 10 px, 89% of the planner's episodes still succeed within 300 steps (all of them without noise), and LWD
trained on them scores 0.87 at H_a = 8 against 0.60 on noise-free demonstrations (docs/results/fig9.md). Near the
goal the pushes are a few pixels deep: noise there too left 7 of 10 episodes successful, so it stops there.
`--noise 0` gives the plain planner."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .. import seeds
from ..data.hdf5 import Dataset
from ..schema import check_fields, setting
from .collect import CollectProgress, end_flags, map_episodes
from .pusht import ENV_ID, EPISODE_LENGTH, STATE_ENV_ID, PushTSuite, to_action, to_pixels
from .registry import Collector, register_collector


NOISE_CORR = 0.8      # per step: an offset lasts about 5 steps (half a second), long enough to leave the path


@dataclass(frozen=True)
class PushTCollectConfig:
    episodes: int = setting(200, "planned demonstration episodes", gt=0)
    seed: int = setting(0, "start-state and planner seed", ge=0)
    diverse: bool = setting(True, "draw the side of each episode's first push at random")
    noise: float = setting(10.0, "std in px of a slowly varying offset added to the executed targets away from "
                                 "the goal; the planner's targets are kept as action labels (0: the plain planner)",
                           ge=0.0)

    def __post_init__(self):
        check_fields(self)


def collect_pusht(cfg: PushTCollectConfig, workers: int = 1, result: dict | None = None) -> Iterator[CollectProgress]:
    """Generator: one record per episode; the finished Dataset goes in result["dataset"]. Episodes run across
    `workers` processes, each seeded by (seed, episode)."""
    jobs = [(cfg, ep) for ep in range(cfg.episodes)]
    eps = []
    for k, ep in enumerate(map_episodes(_episode, jobs, workers)):
        eps.append(ep)
        yield CollectProgress("pusht", k, k + 1, len(jobs), bool(ep["success"].any()))
    cat = {key: np.concatenate([e[key] for e in eps]) for key in eps[0]}
    n_ok = sum(bool(e["success"].any()) for e in eps)
    ds = Dataset(observations=cat["obs"], actions=cat["act"], rewards=cat["rew"], terminals=cat["term"],
                 timeouts=cat["tout"], labels=np.zeros(len(cat["obs"]), np.int64), label_names=[ENV_ID],
                 success=cat["success"], action_labels=cat["clean"] if cfg.noise > 0 else None,
                 infos={"coverage": cat["coverage"], "first_side": cat["side"], "episode_seed": cat["seed"]},
                 attrs={"env_id": ENV_ID, "collector": "sampling-based push planner", "seed": int(cfg.seed),
                        "episodes": int(cfg.episodes), "diverse": bool(cfg.diverse), "noise": float(cfg.noise),
                        "success_rate": n_ok / max(1, len(eps))})
    if result is not None:
        result["dataset"] = ds


def _episode(job) -> dict[str, np.ndarray]:
    from .pusht_planner import PushDemonstrator                     # pymunk only where episodes run
    cfg, ep = job
    suite = PushTSuite(STATE_ENV_ID)                  # files keep the exact 5-d state; keypoint runs convert it
    seed = seeds.suite_start_seed(suite, "collect", cfg.seed, ep)
    rng = seeds.rng("planner", cfg.seed, ep)
    env = suite.make(ENV_ID)
    obs, _ = env.reset(seed=seed)
    side = int(rng.choice([-1, 1])) if cfg.diverse else 0
    demo = PushDemonstrator(env, rng, side)
    noise = seeds.rng("collect_noise", cfg.seed, ep)
    offset = np.zeros(2)
    rows: dict[str, list] = {k: [] for k in ("obs", "act", "clean", "rew", "success", "coverage")}
    term = False
    for t in range(EPISODE_LENGTH):
        clean = np.clip(demo.act(), -1.0, 1.0).astype(np.float32)
        a = clean                                                   # what the env executes (it clips too)
        if cfg.noise > 0 and env.coverage() <= PushTSuite.NEAR_GOAL:
            offset = NOISE_CORR * offset + np.sqrt(1 - NOISE_CORR ** 2) * cfg.noise * noise.standard_normal(2)
            a = np.clip(to_action(to_pixels(clean) + offset), -1.0, 1.0).astype(np.float32)
        o2, r, term, trunc, info = env.step(a)
        for k, v in (("obs", obs), ("act", a), ("clean", clean), ("rew", r), ("success", bool(info["is_success"])),
                     ("coverage", info["coverage"])):
            rows[k].append(v)
        obs = o2
        if term or trunc:
            break
    env.close()
    n = len(rows["obs"])
    out = {"obs": np.asarray(rows["obs"], np.float32), "act": np.asarray(rows["act"], np.float32),
           "clean": np.asarray(rows["clean"], np.float32),
           "rew": np.asarray(rows["rew"], np.float32), "success": np.asarray(rows["success"], bool),
           "coverage": np.asarray(rows["coverage"], np.float32), "side": np.full(n, side, np.int64),
           "seed": np.full(n, seed, np.int64)}
    out["term"], out["tout"] = end_flags(n, term)
    return out


register_collector(Collector("pusht", "PushT demonstrations from a sampling-based push planner",
                             PushTCollectConfig, collect_pusht, version="2"))   # 2: seeds.py start states, clipped actions
