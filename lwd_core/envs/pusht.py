"""PushT (gym-pusht, Chi et al.'s low-dim set-up): push a T-shaped block onto a fixed goal pose with a round agent.

Observation (5,): agent x, y, block x, y (pixels, 0-512), block angle. Action (2,): the agent's target position,
scaled to [-1, 1] (pixel = 256 * (a + 1)); a PD controller tracks it. The scaling is ours: Chi et al. normalise
actions to [-1, 1] inside the policy, and here LWD's generated policies end in tanh, which fits that range. 10 Hz control, at most 300 steps. Scored as Diffusion Policy does: the reward is
clip(coverage / 0.95, 0, 1), where coverage is the fraction of the goal area the block covers, and an episode
succeeds (and ends) when coverage exceeds 0.95. Reports use each episode's maximum reward ("score").

Perturbations (an evaluation option, `eval.perturb`): at each control step, with probability PERTURB_RATE, the
block is displaced by PERTURB_SHIFT pixels in a random direction and turned by an angle drawn uniformly from
±PERTURB_TURN radians. The world has no inertia (pymunk damping 0 stops every body each step), so a push is a
displacement rather than an impulse. The draws come from the episode's own seed, so every method evaluated on the
same seeds meets the same perturbations at the same steps.

Reproducibility: an episode is fixed by its seed up to float rounding, not bitwise. Rewards of the same seeded
episode were seen to differ in the last bit (1e-16) depending on what the process had allocated before, even
after the shape renumbering in `reset` (which removed a larger, systematic difference). The likely cause is that
Chipmunk caches contacts in a hash set keyed by shape addresses. Results for a given seed therefore agree across
`--workers` to about 1e-9 relative (tested), not digit for digit as MT10's do."""
from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass

import numpy as np

from .. import seeds
from ..errors import DatasetError, LWDError
from .registry import register_suite

ENV_ID, GYM_ID = "pusht", "gym_pusht/PushT-v0"
OBS_DIM, ACT_DIM, EPISODE_LENGTH = 5, 2, 300
PERTURB_RATE, PERTURB_SHIFT, PERTURB_TURN = 0.02, 20.0, 0.25   # ~6 pushes in a 300-step episode


def _make_raw(render_mode: str | None):
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")     # pygame prints a banner on import otherwise
    try:
        import gym_pusht  # noqa: F401  (registers the gymnasium id)
        import gymnasium as gym
    except ImportError as e:
        raise LWDError(f"PushT needs the gym-pusht package ({e.name} is missing): pip install gym-pusht") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # rgb_array is gym-pusht's default and costs nothing until render() is called; pygame draws without GL
        return gym.make(GYM_ID, obs_type="state", render_mode=render_mode or "rgb_array").unwrapped


def to_pixels(action: np.ndarray) -> np.ndarray:
    """Scaled action(s) in [-1, 1] -> target position(s) in pixels."""
    return (np.asarray(action, np.float64) + 1.0) * 256.0


def to_action(pixels: np.ndarray) -> np.ndarray:
    """Target position(s) in pixels -> scaled action(s)."""
    return (np.asarray(pixels, np.float64) / 256.0 - 1.0).astype(np.float32)


def _renumber_shapes(space) -> None:
    shapes = list(space.shapes)
    space.remove(*shapes)
    for i, shape in enumerate(shapes, 1):
        shape._hashid = i
    space.add(*shapes)


class PushTEnv:
    """gym-pusht behind the project's Env contract, with optional seeded perturbations of the block."""
    max_episode_steps = EPISODE_LENGTH

    def __init__(self, render_mode: str | None = None, perturb: bool = False):
        self.env = _make_raw(render_mode)
        self.perturb = perturb
        self._rng = np.random.default_rng(0)
        self.t = 0
        self.perturbations = 0

    def reset(self, seed: int | None = None, state: np.ndarray | None = None):
        """seed draws the start state (agent and block) exactly as gym-pusht's reset does; `state` (5,) sets it
        instead. Done here rather than by gym-pusht's reset for one reason: Chipmunk numbers every shape from a
        process-wide counter and orders contacts by those numbers, so the same episode would end a few ulps apart
        depending on how many environments the process had made before. Renumbering the new world's shapes from 1
        makes an episode depend on its seed alone, whatever worker steps it."""
        import gymnasium as gym
        e = self.env
        gym.Env.reset(e, seed=seed)                                  # seeds e.np_random
        e._setup()
        _renumber_shapes(e.space)
        if state is None:
            r = e.np_random
            state = [r.integers(50, 450), r.integers(50, 450), r.integers(100, 400), r.integers(100, 400),
                     r.uniform(-np.pi, np.pi)]
        e._set_state(np.asarray(state, np.float64))
        o, info = e.get_obs(), e._get_info()
        info["is_success"] = False
        self._rng = seeds.rng("perturb", 0 if seed is None else int(seed))
        self.t, self.perturbations = 0, 0
        return np.asarray(o, np.float32), info

    def step(self, action):
        if self.perturb and self._rng.random() < PERTURB_RATE:
            self._displace_block()
        target = to_pixels(np.clip(np.asarray(action, np.float64), -1.0, 1.0))
        o, r, term, trunc, info = self.env.step(target)
        self.t += 1
        trunc = trunc or self.t >= EPISODE_LENGTH
        info["perturbations"] = self.perturbations
        return np.asarray(o, np.float32), float(r), bool(term), bool(trunc), info

    def _displace_block(self) -> None:
        b = self.env.block
        direction = self._rng.uniform(0, 2 * np.pi)
        turn = self._rng.uniform(-PERTURB_TURN, PERTURB_TURN)
        x, y = b.position
        x = float(np.clip(x + PERTURB_SHIFT * np.cos(direction), 60, 452))   # keep the T inside the walls
        y = float(np.clip(y + PERTURB_SHIFT * np.sin(direction), 60, 452))
        b.position = (x, y)
        b.angle = b.angle + turn
        self.env.space.reindex_shapes_for_body(b)
        self.perturbations += 1

    def place_block(self, x: float, y: float, angle: float) -> None:
        """Put the block's body frame exactly at (x, y, angle): the angle first, because pymunk turns a body about
        its centre of gravity (gym-pusht's own reset sets the position first, for compatibility with old data)."""
        b = self.env.block
        b.angle = float(angle)
        b.position = (float(x), float(y))
        self.env.space.reindex_shapes_for_body(b)

    def coverage(self) -> float:
        return float(self.env._get_coverage())

    def render(self):
        return self.env.render()

    def close(self):
        self.env.close()


@dataclass(frozen=True)
class PushTSuite:
    env_id: str = ENV_ID
    has_success: bool = True
    has_expert: bool = False
    episode_variation: str = "start states"    # evaluation seeds draw agent and block positions never trained on
    perturb: bool = False

    def episode_length(self) -> int:
        return EPISODE_LENGTH

    def check_dims(self, obs_dim: int, act_dim: int, source: str) -> None:
        if (obs_dim, act_dim) != (OBS_DIM, ACT_DIM):
            raise DatasetError(f"{source}: obs_dim={obs_dim}, act_dim={act_dim} do not fit pusht ({OBS_DIM}, {ACT_DIM})")

    def check_condition(self, condition: str) -> None:
        pass                    # one task; a dataset's labels (e.g. demonstration styles) all play in it

    def make(self, condition: str, render_mode: str | None = None, size: tuple[int, int] | None = None) -> PushTEnv:
        env = PushTEnv(render_mode, self.perturb)
        if size is not None:
            env.env.visualization_width, env.env.visualization_height = size
        return env

    def expert(self, condition: str):
        raise LWDError("pusht has no evaluation expert: its demonstrator (`collect pusht`) plans over a replica of "
                       "the world, too slow for lock-step evaluation")

    def with_perturbations(self) -> "PushTSuite":
        return dataclasses.replace(self, perturb=True)


register_suite(ENV_ID, PushTSuite)
