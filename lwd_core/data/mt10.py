"""MT10 demonstration collector: Meta-World's scripted experts with Gaussian action noise."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..envs.mt10 import EPISODE_LENGTH, MT10_TASKS, ScriptedExpert, check_task, make_env, place, train_placement_seed
from ..errors import ConfigError
from .hdf5 import Dataset


@dataclass(frozen=True)
class CollectProgress:
    task: str
    episode: int          # index within the task
    done: int             # episodes finished overall
    total: int
    success: bool


def collect_mt10(episodes_per_task: int = 30, episode_length: int = EPISODE_LENGTH, noise: float = 0.1,
                 seed: int = 0, tasks: tuple[str, ...] = MT10_TASKS, result: dict | None = None
                 ) -> Iterator[CollectProgress]:
    """Generator: yields one record per episode; the finished Dataset is put in result["dataset"].

    Executed actions (expert + N(0, noise^2), clipped) go in `actions`; the expert's clean action at the
    same state goes in `infos/action_labels`, so a learner can be trained DART-style on clean labels
    from noise-perturbed state distributions.
    """
    _check_args(episodes_per_task, episode_length, noise)
    tasks = tuple(check_task(t) for t in tasks)
    return _collect(episodes_per_task, episode_length, noise, seed, tasks, result)


def _check_args(episodes_per_task: int, episode_length: int, noise: float) -> None:
    if episodes_per_task <= 0:
        raise ConfigError(f"`episodes_per_task` must be > 0, got {episodes_per_task}")
    if not 1 <= episode_length <= EPISODE_LENGTH:
        raise ConfigError(f"`episode_length` must be in [1, {EPISODE_LENGTH}], got {episode_length}")
    if noise < 0:
        raise ConfigError(f"`noise` must be >= 0, got {noise}")


def _collect(episodes_per_task, episode_length, noise, seed, tasks, result) -> Iterator[CollectProgress]:
    N = len(tasks) * episodes_per_task * episode_length
    obs = np.zeros((N, 39), np.float32)
    act = np.zeros((N, 4), np.float32)
    lab = np.zeros((N, 4), np.float32)
    rew = np.zeros(N, np.float32)
    succ = np.zeros(N, bool)
    term = np.zeros(N, bool)
    tout = np.zeros(N, bool)
    labels = np.zeros(N, np.int64)
    place_seed = np.zeros(N, np.int64)
    row, done, total = 0, 0, len(tasks) * episodes_per_task
    for ti, task in enumerate(tasks):
        env, expert = make_env(task), ScriptedExpert(task)
        try:
            for ep in range(episodes_per_task):
                ps = train_placement_seed(seed, ep)
                rng = np.random.default_rng([seed, ti, ep])
                o = place(env, ps)
                ok = False
                for t in range(episode_length):
                    a_clean = expert.act(o)
                    a = np.clip(a_clean + noise * rng.standard_normal(4), -1.0, 1.0).astype(np.float32)
                    o2, r, terminated, truncated, info = env.step(a)
                    obs[row], act[row], lab[row], rew[row] = o, a, a_clean, r
                    succ[row] = bool(info.get("success", 0.0))
                    ok |= succ[row]
                    labels[row], place_seed[row] = ti, ps
                    row += 1
                    o = o2.astype(np.float32)
                    if terminated:
                        term[row - 1] = True
                        break
                    if truncated and t < episode_length - 1:
                        break
                tout[row - 1] = not term[row - 1]
                done += 1
                yield CollectProgress(task, ep, done, total, bool(ok))
        finally:
            env.close()
    ds = Dataset(observations=obs[:row], actions=act[:row], rewards=rew[:row], terminals=term[:row],
                 timeouts=tout[:row], labels=labels[:row], label_names=list(tasks), action_labels=lab[:row],
                 success=succ[:row], infos={"placement_seed": place_seed[:row]},
                 attrs={"env_id": "mt10", "collector": "metaworld scripted experts", "noise": float(noise),
                        "seed": int(seed), "episodes_per_task": int(episodes_per_task)})
    if result is not None:
        result["dataset"] = ds
