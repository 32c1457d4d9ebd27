"""Any gymnasium environment id (the fallback suite): one environment for every condition, episodes seeded by
reset(seed)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError, LWDError
from .registry import register_suite
from .render import require_gl



class GymEnv:
    """Numpy-typed gymnasium env with the project's Env contract."""

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


def make_gym(env_id: str, render_mode: str | None = None, size: tuple[int, int] | None = None, **kwargs):
    if render_mode is not None:
        require_gl()
    import gymnasium as gym
    with warnings.catch_warnings():
        # gymnasium's passive env checker warns about a user's env (bounds, dtypes) on every make; by module, so
        # nothing else is hidden
        warnings.filterwarnings("ignore", category=UserWarning, module=r"gymnasium\.")
        try:
            if size is not None and render_mode is not None:
                try:
                    return gym.make(env_id, render_mode=render_mode, width=size[0], height=size[1], **kwargs)
                except TypeError:        # envs without a size option (classic control)
                    pass
            return gym.make(env_id, render_mode=render_mode, **kwargs)
        except Exception as e:  # gymnasium raises several kinds for unknown or broken ids
            raise LWDError(f"cannot make environment {env_id!r}: {str(e).splitlines()[0] if str(e) else e}") from None


@dataclass(frozen=True)
class GymSuite:
    env_id: str
    has_success: bool = False
    has_expert: bool = False
    episode_variation: str = "seeds"          # evaluation resets use seeds no training episode used (seeds.py)

    def episode_length(self) -> int:
        env = make_gym(self.env_id)
        try:
            return int(env.spec.max_episode_steps or 1000) if env.spec else 1000
        finally:
            env.close()

    def check_dims(self, obs_dim: int, act_dim: int, source: str) -> None:
        env = make_gym(self.env_id)
        try:
            o, a = env.observation_space.shape, env.action_space.shape
        finally:
            env.close()
        if o and a and (int(np.prod(o)), int(np.prod(a))) != (obs_dim, act_dim):
            raise DatasetError(f"{source}: obs_dim={obs_dim}, act_dim={act_dim} do not fit {self.env_id} "
                               f"({int(np.prod(o))}, {int(np.prod(a))})")

    def check_condition(self, condition: str) -> None:
        pass                             # every condition is a behaviour in the same environment

    def make(self, condition: str, render_mode: str | None = None, size: tuple[int, int] | None = None) -> GymEnv:
        return GymEnv(make_gym(self.env_id, render_mode, size))

    def expert(self, condition: str):
        raise LWDError(f"{self.env_id} has no scripted expert")


register_suite(None, GymSuite)
