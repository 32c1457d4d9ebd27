"""Meta-World MT10 environments, placements and scripted experts (Meta-World 3.x)."""
from __future__ import annotations

import os
import warnings

import numpy as np

from ..errors import LWDError

MT10_TASKS = (
    "reach-v3", "push-v3", "pick-place-v3", "door-open-v3", "drawer-open-v3",
    "drawer-close-v3", "button-press-topdown-v3", "peg-insert-side-v3", "window-open-v3", "window-close-v3",
)
EPISODE_LENGTH = 500

# Placement seeds: training data uses [0, EVAL_SEED_BASE); evaluation uses EVAL_SEED_BASE and up,
# so evaluation goal/object placements are never the ones seen in training.
EVAL_SEED_BASE = 1_000_000


def train_placement_seed(seed: int, episode: int) -> int:
    return (seed * 10_007 + episode) % EVAL_SEED_BASE


def eval_placement_seed(seed: int, episode: int) -> int:
    return EVAL_SEED_BASE + seed * 10_007 + episode


def _metaworld():
    os.environ.setdefault("MUJOCO_GL", "egl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import metaworld
        import metaworld.policies
    return metaworld


def check_task(task: str) -> str:
    if task not in MT10_TASKS:
        raise LWDError(f"unknown MT10 task {task!r}; choose from {', '.join(MT10_TASKS)}")
    return task


def make_env(task: str, render_mode: str | None = None):
    """A goal-observable MT10 env (39-d observation, 4-d action, 500 steps)."""
    mw = _metaworld()
    cls = mw.ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[f"{check_task(task)}-goal-observable"]
    env = cls(seed=0, render_mode=render_mode)
    env.seeded_rand_vec = True  # placements come from env.np_random, so place() is reproducible
    return env


def place(env, seed: int) -> np.ndarray:
    """Reset `env` to the goal/object placement drawn from `seed`; returns the first observation."""
    env._freeze_rand_vec = False
    env.seed(int(seed))
    obs, _ = env.reset()
    env._freeze_rand_vec = True
    return obs.astype(np.float32)


class ScriptedExpert:
    """Meta-World's hand-written expert for one task, with the shared policy contract."""

    def __init__(self, task: str):
        mw = _metaworld()
        name = "Sawyer" + "".join(p.capitalize() for p in check_task(task).split("-")) + "Policy"
        if task == "peg-insert-side-v3":
            name = "SawyerPegInsertionSideV3Policy"
        self.task = task
        self._p = getattr(mw.policies, name)()

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray) -> np.ndarray:
        return np.clip(self._p.get_action(np.asarray(obs, dtype=np.float64)), -1.0, 1.0).astype(np.float32)


class PlacedEnv:
    """Gymnasium-style wrapper: reset(seed=s) puts the goal/objects at the placement drawn from s.

    Meta-World 3.1 renders through gymnasium's MujocoRenderer, which already returns frames upright
    (checked by eye: table legs down); older Meta-World needed a vertical flip, this one must not get one."""

    def __init__(self, task: str, render_mode: str | None = None):
        self.task = task
        self.env = make_env(task, render_mode=render_mode)
        self.observation_space = self.env.observation_space
        self.action_space = self.env.action_space
        self.max_episode_steps = EPISODE_LENGTH

    def reset(self, seed: int | None = None):
        return place(self.env, 0 if seed is None else seed), {}

    def step(self, action):
        o, r, term, trunc, info = self.env.step(np.asarray(action, dtype=np.float32))
        return o.astype(np.float32), float(r), bool(term), bool(trunc), info

    def render(self):
        return self.env.render()

    def close(self):
        self.env.close()
