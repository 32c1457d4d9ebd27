"""Meta-World MT10: environments with seeded goal/object placements, scripted experts, and the demonstration
collector (experts with Gaussian action noise, clean labels kept DART-style)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ..data.hdf5 import Dataset
from .. import seeds
from ..errors import ConfigError, DatasetError, LWDError
from .collect import CollectProgress, map_episodes
from .registry import Collector, register_collector, register_suite
from .render import require_gl

MT10_TASKS = (
    "reach-v3", "push-v3", "pick-place-v3", "door-open-v3", "drawer-open-v3",
    "drawer-close-v3", "button-press-topdown-v3", "peg-insert-side-v3", "window-open-v3", "window-close-v3",
)
EPISODE_LENGTH = 500
OBS_DIM, ACT_DIM = 39, 4

# Placement seeds: training data uses [0, EVAL_SEED_BASE); evaluation uses EVAL_SEED_BASE and up, so evaluation
# goal/object placements are never the ones seen in training, for any seed. This scheme predates the project's seed
# service (`seeds.py`) and is kept because it is disjoint by construction and the published MT10 results use it;
# MT10's other start-state streams come from the service, shifted above every placement seed of these two.
EVAL_SEED_BASE = 1_000_000
OTHER_STREAMS_BASE = 1 << 48


def train_placement_seed(seed: int, episode: int) -> int:
    return (seed * 10_007 + episode) % EVAL_SEED_BASE


def eval_placement_seed(seed: int, episode: int) -> int:
    return EVAL_SEED_BASE + seed * 10_007 + episode


def _metaworld():
    # The scripted experts warn on every episode that their gains saturate; the env clips anyway. Set here, not only
    # in the CLI, so worker processes are quiet too.
    warnings.filterwarnings("ignore", message=r"Constant\(s\) may be too high", category=UserWarning)
    import metaworld
    import metaworld.policies
    return metaworld


def check_task(task: str) -> str:
    if task not in MT10_TASKS:
        raise LWDError(f"unknown MT10 task {task!r}; choose from {', '.join(MT10_TASKS)}")
    return task


def make_env(task: str, render_mode: str | None = None):
    """A goal-observable MT10 env (39-d observation, 4-d action, 500 steps)."""
    if render_mode is not None:
        require_gl()
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

    def __init__(self, task: str, render_mode: str | None = None, size: tuple[int, int] | None = None):
        self.task = task
        self.env = make_env(task, render_mode=render_mode)
        if size is not None and render_mode is not None:
            self.env.mujoco_renderer.width, self.env.mujoco_renderer.height = size
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


@dataclass(frozen=True)
class MT10Suite:
    env_id: str = "mt10"
    has_success: bool = True
    has_expert: bool = True
    episode_variation: str = "placements"     # what the evaluation seeds vary: goal and object placements

    def episode_length(self) -> int:
        return EPISODE_LENGTH

    def check_dims(self, obs_dim: int, act_dim: int, source: str) -> None:
        if (obs_dim, act_dim) != (OBS_DIM, ACT_DIM):
            raise DatasetError(f"{source}: obs_dim={obs_dim}, act_dim={act_dim} do not fit mt10 ({OBS_DIM}, {ACT_DIM})")

    def check_condition(self, condition: str) -> None:
        if condition not in MT10_TASKS:
            raise LWDError(f"condition {condition!r} is not an MT10 task")

    def make(self, condition: str, render_mode: str | None = None, size: tuple[int, int] | None = None) -> PlacedEnv:
        return PlacedEnv(condition, render_mode, size)

    def start_seed(self, stream: str, seed: int, *key: int) -> int:
        if stream == "collect" and len(key) == 1:
            return train_placement_seed(seed, key[0])
        if stream == "eval" and len(key) == 1:
            return eval_placement_seed(seed, key[0])
        return OTHER_STREAMS_BASE + seeds.start_seed(stream, seed, *key)

    def expert(self, condition: str) -> ScriptedExpert:
        return ScriptedExpert(condition)


register_suite("mt10", MT10Suite)


# ------------------------------------------------------------------ collector
@dataclass(frozen=True)
class MT10CollectConfig:
    episodes_per_task: int = field(default=40, metadata={"help": "noisy expert episodes per task"})
    episode_length: int = field(default=EPISODE_LENGTH, metadata={"help": "steps per episode (at most 500)"})
    noise: float = field(default=0.1, metadata={"help": "Gaussian action-noise std"})
    seed: int = field(default=0, metadata={"help": "placement and noise seed"})
    tasks: str = field(default="", metadata={"help": "comma-separated subset of MT10 tasks (default: all 10)"})

    def __post_init__(self):
        if isinstance(self.episodes_per_task, bool) or not isinstance(self.episodes_per_task, int) \
                or self.episodes_per_task <= 0:
            raise ConfigError(f"`episodes_per_task` must be > 0, got {self.episodes_per_task}")
        if not 1 <= self.episode_length <= EPISODE_LENGTH:
            raise ConfigError(f"`episode_length` must be in [1, {EPISODE_LENGTH}], got {self.episode_length}")
        if not self.noise >= 0:
            raise ConfigError(f"`noise` must be >= 0, got {self.noise}")
        for t in self.task_list():
            check_task(t)

    def task_list(self) -> tuple[str, ...]:
        return tuple(t.strip() for t in self.tasks.split(",") if t.strip()) or MT10_TASKS


def collect_mt10(cfg: MT10CollectConfig, workers: int = 1, result: dict | None = None) -> Iterator[CollectProgress]:
    """Generator: one record per episode; the finished Dataset goes in result["dataset"].

    Executed actions (expert + N(0, noise^2), clipped) go in `actions`; the expert's clean action at the same state
    goes in `infos/action_labels`, so a learner can be trained DART-style on clean labels from noise-perturbed
    state distributions. Episodes run across `workers` processes; each is seeded by (seed, task, episode)."""
    tasks = cfg.task_list()
    jobs = [(cfg, ti, task, ep) for ti, task in enumerate(tasks) for ep in range(cfg.episodes_per_task)]
    eps = []
    for k, ep in enumerate(map_episodes(_episode, jobs, workers)):
        eps.append(ep)
        _, _, task, i = jobs[k]
        yield CollectProgress(task, i, k + 1, len(jobs), bool(ep["success"].any()))
    cat = {key: np.concatenate([e[key] for e in eps]) for key in eps[0]}
    ds = Dataset(observations=cat["obs"], actions=cat["act"], rewards=cat["rew"], terminals=cat["term"],
                 timeouts=cat["tout"], labels=cat["label"], label_names=list(tasks), action_labels=cat["clean"],
                 success=cat["success"], infos={"placement_seed": cat["placement_seed"]},
                 attrs={"env_id": "mt10", "collector": "metaworld scripted experts", "noise": float(cfg.noise),
                        "seed": int(cfg.seed), "episodes_per_task": int(cfg.episodes_per_task)})
    if result is not None:
        result["dataset"] = ds


_ENVS: dict[str, tuple] = {}     # per worker process: one env and expert per task, reused across its episodes


def _episode(job) -> dict[str, np.ndarray]:
    cfg, ti, task, ep = job
    if task not in _ENVS:
        _ENVS[task] = (make_env(task), ScriptedExpert(task))
    env, expert = _ENVS[task]
    ps = MT10Suite().start_seed("collect", cfg.seed, ep)
    rng = np.random.default_rng([cfg.seed, ti, ep])     # MT10's own noise stream, kept with its placements
    o = place(env, ps)
    rows: dict[str, list] = {k: [] for k in ("obs", "act", "clean", "rew", "success")}
    term = False
    for t in range(cfg.episode_length):
        a_clean = expert.act(o)
        a = np.clip(a_clean + cfg.noise * rng.standard_normal(ACT_DIM), -1.0, 1.0).astype(np.float32)
        o2, r, terminated, truncated, info = env.step(a)
        for k, v in (("obs", o), ("act", a), ("clean", a_clean), ("rew", r), ("success", bool(info.get("success", 0.0)))):
            rows[k].append(v)
        o = o2.astype(np.float32)
        if terminated:
            term = True
            break
        if truncated and t < cfg.episode_length - 1:
            break
    n = len(rows["obs"])
    out = {"obs": np.asarray(rows["obs"], np.float32), "act": np.asarray(rows["act"], np.float32),
           "clean": np.asarray(rows["clean"], np.float32), "rew": np.asarray(rows["rew"], np.float32),
           "success": np.asarray(rows["success"], bool), "term": np.zeros(n, bool), "tout": np.zeros(n, bool),
           "label": np.full(n, ti, np.int64), "placement_seed": np.full(n, ps, np.int64)}
    out["term"][-1] = term
    out["tout"][-1] = not term
    return out


register_collector(Collector("mt10", "Meta-World MT10 scripted experts with Gaussian action noise",
                             MT10CollectConfig, collect_mt10))
