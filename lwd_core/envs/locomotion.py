"""Locomotion (paper §4.1-4.2, Table 1): gymnasium MuJoCo HalfCheetah-v5, Walker2d-v5 and Ant-v5, whose conditions
are behaviours (expert / medium / random) rather than tasks.

Every episode counts, per foot, the control steps on which that foot touches the floor (a MuJoCo contact between
the foot geom and the floor geom after the step), and reports the fractions as its `foot_contact` statistic:
HalfCheetah's back and front foot, Walker2d's right and left foot, Ant's four lower legs. It also reports the
fraction of steps the torso spent upside down (`flipped`: its z axis pointing below the horizon). Short SAC runs
on HalfCheetah often learn to run on their back, where no foot touches the floor and foot contacts say nothing.
The suite's "expert" for a condition is that behaviour's shipped policy (`behaviours.py`), acting as it does in
the data: with its own Gaussian noise (the paper's random behaviour is "almost Gaussian noise"), seeded per episode.
A condition without a shipped policy (an unlabelled file's 'default', a dataset's own behaviour names) has no expert:
`expert_missing` says why, and evaluation leaves the expert (and fresh demonstrations) out for it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError, LWDError
from .behaviours import BehaviourActor, behaviour_path, load_behaviour
from .gym import GymEnv, make_gym
from .registry import register_suite

# env id -> (short name for the CLI, foot geoms in a fixed order, their labels)
ENVS = {
    "HalfCheetah-v5": ("halfcheetah", ("bfoot", "ffoot"), ("back foot", "front foot")),
    "Walker2d-v5": ("walker2d", ("foot_geom", "foot_left_geom"), ("right foot", "left foot")),
    "Ant-v5": ("ant", ("left_ankle_geom", "right_ankle_geom", "third_ankle_geom", "fourth_ankle_geom"),
               ("front left", "front right", "back left", "back right")),
}
SHORT = {v[0]: k for k, v in ENVS.items()}
EPISODE_LENGTH = 1000


def env_id_of(name: str) -> str:
    """'halfcheetah' or 'HalfCheetah-v5' -> 'HalfCheetah-v5'."""
    if name in ENVS:
        return name
    if name.lower() in SHORT:
        return SHORT[name.lower()]
    raise LWDError(f"unknown locomotion env {name!r}; choose from {', '.join(SHORT)}")


def upside_down(data, torso: int) -> bool:
    """Whether body `torso` is upside down: the world z component of its own z axis (xmat[2, 2]) is negative."""
    return bool(data.xmat[torso, 8] < 0)


def torso_of(model) -> int:
    import mujoco
    return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "torso")


class LocomotionEnv(GymEnv):
    """A gymnasium MuJoCo env that counts foot-floor contacts per episode."""

    def __init__(self, env, feet: tuple[str, ...]):
        super().__init__(env)
        import mujoco
        m = env.unwrapped.model
        ids = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, g) for g in ("floor", *feet)]
        if min(ids) < 0:
            raise LWDError(f"{env.spec.id if env.spec else env}: missing geoms {('floor', *feet)}")
        self.floor, self.feet = ids[0], np.array(ids[1:])
        self.torso = torso_of(m)
        self.contacts = np.zeros(len(feet))
        self.flipped = 0
        self.steps = 0

    def foot_contacts(self) -> np.ndarray:
        """(n_feet,) bool: which feet touch the floor now."""
        d = self.env.unwrapped.data
        n = d.ncon
        g1, g2 = d.contact.geom1[:n], d.contact.geom2[:n]
        other = np.concatenate([g2[g1 == self.floor], g1[g2 == self.floor]])
        return np.isin(self.feet, other)

    def is_flipped(self) -> bool:
        return upside_down(self.env.unwrapped.data, self.torso)

    def reset(self, seed=None):
        self.contacts[:] = 0
        self.flipped = 0
        self.steps = 0
        return super().reset(seed)

    def step(self, a):
        o, r, term, trunc, info = super().step(a)
        feet = self.foot_contacts()
        self.contacts += feet
        self.flipped += self.is_flipped()
        self.steps += 1
        info["feet"] = feet
        return o, r, term, trunc, info

    def episode_stats(self) -> dict:
        n = max(1, self.steps)
        return {"foot_contact": (self.contacts / n).tolist(), "flipped": self.flipped / n}


@dataclass(frozen=True)
class LocomotionSuite:
    env_id: str
    has_success: bool = False
    has_expert: bool = True                   # the shipped behaviour policy of a condition, where there is one
    episode_variation: str = "seeds"

    @property
    def feet(self) -> tuple[str, ...]:
        return ENVS[self.env_id][1]

    @property
    def foot_labels(self) -> tuple[str, ...]:
        return ENVS[self.env_id][2]

    def episode_length(self) -> int:
        return EPISODE_LENGTH

    def check_dims(self, obs_dim: int, act_dim: int, source: str) -> None:
        env = make_gym(self.env_id)
        try:
            o, a = int(np.prod(env.observation_space.shape)), int(np.prod(env.action_space.shape))
        finally:
            env.close()
        if (obs_dim, act_dim) != (o, a):
            hint = " (D4RL's ant-v2 files are 111-d: use a file recorded from Ant-v5)" if self.env_id == "Ant-v5" else ""
            raise DatasetError(f"{source}: obs_dim={obs_dim}, act_dim={act_dim} do not fit {self.env_id} ({o}, {a})"
                               f"{hint}")

    def check_condition(self, condition: str) -> None:
        pass                                  # any behaviour name; only the expert row needs a shipped policy

    def make(self, condition: str, render_mode: str | None = None,
             size: tuple[int, int] | None = None) -> LocomotionEnv:
        return LocomotionEnv(make_gym(self.env_id, render_mode, size), self.feet)

    def expert_missing(self, condition: str) -> str | None:
        """Why `condition` has no expert (None: it has one). Only behaviours with a shipped policy (expert, medium,
        random, or whatever $LWD_BEHAVIOURS holds) have one; a dataset's own labels, or an unlabelled file's
        'default', are conditions to train and sample, not policies to run."""
        if behaviour_path(self.env_id, condition).exists():
            return None
        return f"no shipped behaviour policy for condition {condition!r} of {self.env_id}"

    def expert(self, condition: str) -> BehaviourActor:
        return BehaviourActor(load_behaviour(self.env_id, condition), noisy=True)


for _id in ENVS:
    register_suite(_id, LocomotionSuite)
