"""A tiny demonstration suite, used only by the tests: conditions b0..b{k-1}, each a fixed linear map from a 5-d
random state to a 2-d action. It shows what adding a suite takes: this one module (a suite, its collector and its
preset), loaded through LWD_PLUGINS=tests.toy_suite, and nothing in lwd_studio/."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lwd_core.config import register_preset
from lwd_core.data.hdf5 import Dataset
from lwd_core.envs.collect import CollectProgress
from lwd_core.envs.registry import Collector, register_collector, register_suite
from lwd_core.errors import DatasetError, LWDError

ENV_ID, OBS_DIM, ACT_DIM, LENGTH = "toy-maps", 5, 2, 30


def maps(n_labels: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n_labels, OBS_DIM, ACT_DIM)) * 0.3   # (k, obs, act)


def make_synthetic(n_eps=6, length=LENGTH, obs_dim=OBS_DIM, act_dim=ACT_DIM, n_labels=2, seed=0, env_id=ENV_ID):
    """Episodes whose actions are a fixed linear function of the state, one map per label."""
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n_labels, obs_dim, act_dim)) * 0.3
    N = n_eps * length
    obs = rng.normal(size=(N, obs_dim)).astype(np.float32)
    labels = np.repeat(np.arange(n_eps) % n_labels, length)
    act = np.tanh(np.einsum("ni,nij->nj", obs, m[labels])).astype(np.float32)
    tout = np.zeros(N, bool)
    tout[length - 1::length] = True
    return Dataset(observations=obs, actions=act, rewards=rng.normal(size=N).astype(np.float32),
                   terminals=np.zeros(N, bool), timeouts=tout, labels=labels.astype(np.int64),
                   label_names=[f"b{i}" for i in range(n_labels)], attrs={"env_id": env_id})


class ToyEnv:
    """States are i.i.d. normal; the reward is minus the squared error to the condition's map. Perturbed, a third
    of the states are shifted by 3 (seeded by the episode)."""
    max_episode_steps = LENGTH

    def __init__(self, condition: str, perturb: bool = False):
        self.M = maps()[int(condition[1:])]
        self.rng = np.random.default_rng(0)
        self.obs = np.zeros(OBS_DIM, np.float32)
        self.perturb = perturb

    def reset(self, seed=None):
        self.rng = np.random.default_rng(seed)
        self.t = 0
        self.obs = self.rng.normal(size=OBS_DIM).astype(np.float32)
        return self.obs.copy(), {}

    def step(self, a):
        r = -float(np.mean((np.asarray(a) - np.tanh(self.obs @ self.M)) ** 2))
        self.t += 1
        self.obs = self.rng.normal(size=OBS_DIM).astype(np.float32)
        if self.perturb and self.rng.random() < 1 / 3:
            self.obs += 3.0
        return self.obs.copy(), r, False, self.t >= LENGTH, {"success": r > -0.01}

    def render(self):
        return np.zeros((8, 8, 3), np.uint8)

    def close(self):
        pass


class ToyExpert:
    def __init__(self, condition: str):
        self.M = maps()[int(condition[1:])]

    def reset(self):
        pass

    def act(self, obs):
        return np.tanh(np.asarray(obs) @ self.M).astype(np.float32)


@dataclass(frozen=True)
class ToySuite:
    env_id: str = ENV_ID
    has_success: bool = True
    has_expert: bool = True
    episode_variation: str = "seeds"
    perturb: bool = False

    def episode_length(self) -> int:
        return LENGTH

    def check_dims(self, obs_dim, act_dim, source):
        if (obs_dim, act_dim) != (OBS_DIM, ACT_DIM):
            raise DatasetError(f"{source}: obs_dim={obs_dim}, act_dim={act_dim} do not fit {ENV_ID}")

    def check_condition(self, condition):
        if condition not in ("b0", "b1"):
            raise LWDError(f"condition {condition!r} is not a {ENV_ID} map")

    def make(self, condition, render_mode=None, size=None):
        return ToyEnv(condition, self.perturb)

    def with_perturbations(self):
        return ToySuite(perturb=True)

    def expert(self, condition):
        return ToyExpert(condition)


@dataclass(frozen=True)
class ToyCollectConfig:
    episodes: int = field(default=6, metadata={"help": "episodes in all, alternating b0 and b1"})
    seed: int = field(default=0, metadata={"help": "state seed"})


def collect_toy(cfg: ToyCollectConfig, workers: int = 1, result: dict | None = None):
    for e in range(cfg.episodes):
        yield CollectProgress(f"b{e % 2}", e // 2, e + 1, cfg.episodes, None)
    if result is not None:
        result["dataset"] = make_synthetic(n_eps=cfg.episodes, seed=cfg.seed)


register_suite(ENV_ID, ToySuite)
register_collector(Collector("toy", "linear-map demonstrations (test suite)", ToyCollectConfig, collect_toy))
register_preset("toy-tiny", {"name": "toy-tiny", "env_id": ENV_ID, "log_every": 1, "checkpoint_every": 5,
                             "vae": {"latent_dim": 16, "encoder_hidden": [64], "policy_hidden": [32, 32],
                                     "steps": 20, "batch_size": 4, "states_per_window": 16},
                             "ddpm": {"n_steps": 50, "hidden": 64, "n_blocks": 1, "cond_dim": 8, "steps": 20,
                                      "batch_size": 16, "latent_samples_per_window": 2},
                             "eval": {"episodes": 2, "ddim_steps": 5, "max_steps": LENGTH}})
