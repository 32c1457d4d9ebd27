"""PushT (gym-pusht, Chi et al.'s low-dim set-up): push a T-shaped block onto a fixed goal pose with a round agent.

Observations, one env id each:
- `pusht` (18,): the T's 8 corner keypoints (x, y each, pixels) then the agent's x, y, computed from the pose. As
  gym-pusht's `environment_state_agent_pos` gives them (its order may differ), and like Chi et al.'s low-dim
  keypoint observation (theirs has 9 keypoints, 20-d). Keypoints move continuously with the block.
- `pusht-5d` (5,): gym-pusht's `state`: agent x, y, block x, y, block angle wrapped to [0, 2 pi). The wrap is a jump
  0.785 rad from the goal angle pi/4, which many episodes rotate through; kept to measure what it costs.
Collected files store the 5-d state (it holds the pose exactly); a keypoint run converts it when it loads them.

Action (2,): the agent's target position,
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
from dataclasses import dataclass

import numpy as np

from .. import seeds
from ..errors import DatasetError, LWDError
from .registry import register_suite

ENV_ID, STATE_ENV_ID, GYM_ID = "pusht", "pusht-5d", "gym_pusht/PushT-v0"
STATE_DIM, KEYPOINT_DIM, ACT_DIM, EPISODE_LENGTH = 5, 18, 2, 300
OBS_DIM = STATE_DIM                 # what collected files hold
# The T's corners in its body frame (gym-pusht's add_tee: scale 30, length 4): the bar's 4, then the stem's 4.
_S, _L = 30.0, 4.0
T_CORNERS = np.array([(-_L * _S / 2, _S), (_L * _S / 2, _S), (_L * _S / 2, 0), (-_L * _S / 2, 0),
                      (-_S / 2, _S), (-_S / 2, _L * _S), (_S / 2, _L * _S), (_S / 2, _S)])      # (8, 2)


def keypoint_obs(state: np.ndarray) -> np.ndarray:
    """5-d states (..., 5) -> keypoint observations (..., 18): the T's corners in the world, then the agent."""
    s = np.asarray(state, np.float64)
    c, si = np.cos(s[..., 4:5]), np.sin(s[..., 4:5])                             # (..., 1)
    x = T_CORNERS[:, 0] * c - T_CORNERS[:, 1] * si + s[..., 2:3]                  # (..., 8)
    y = T_CORNERS[:, 0] * si + T_CORNERS[:, 1] * c + s[..., 3:4]
    kp = np.stack([x, y], -1).reshape(*s.shape[:-1], 16)
    return np.concatenate([kp, s[..., :2]], -1).astype(np.float32)
PERTURB_RATE, PERTURB_SHIFT, PERTURB_TURN = 0.02, 20.0, 0.25   # ~6 pushes in a 300-step episode


def _make_raw(render_mode: str | None):
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")     # pygame prints a banner on import otherwise
    try:
        import gym_pusht  # noqa: F401  (registers the gymnasium id)
        import gymnasium as gym
    except ImportError as e:
        raise LWDError(f"PushT needs the gym-pusht package ({e.name} is missing): pip install gym-pusht") from None
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

    def __init__(self, render_mode: str | None = None, perturb: bool = False, keypoints: bool = False):
        self.env = _make_raw(render_mode)
        self.perturb, self.keypoints = perturb, keypoints
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
        return self._obs(o), info

    def _obs(self, state) -> np.ndarray:
        return keypoint_obs(state) if self.keypoints else np.asarray(state, np.float32)

    def state(self) -> np.ndarray:
        """The 5-d state (agent x, y, block x, y, angle), whatever the observation."""
        return np.asarray(self.env.get_obs(), np.float64)

    def step(self, action):
        if self.perturb and self._rng.random() < PERTURB_RATE:
            self._displace_block()
        target = to_pixels(np.clip(np.asarray(action, np.float64), -1.0, 1.0))
        o, r, term, trunc, info = self.env.step(target)
        self.t += 1
        trunc = trunc or self.t >= EPISODE_LENGTH
        info["perturbations"] = self.perturbations
        return self._obs(o), float(r), bool(term), bool(trunc), info

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

    @property
    def keypoints(self) -> bool:
        return self.env_id != STATE_ENV_ID

    @property
    def obs_dim(self) -> int:
        return KEYPOINT_DIM if self.keypoints else STATE_DIM

    def episode_length(self) -> int:
        return EPISODE_LENGTH

    def check_dims(self, obs_dim: int, act_dim: int, source: str) -> None:
        ok = (STATE_DIM, KEYPOINT_DIM) if self.keypoints else (STATE_DIM,)     # 5-d files convert to keypoints
        if obs_dim not in ok or act_dim != ACT_DIM:
            raise DatasetError(f"{source}: obs_dim={obs_dim}, act_dim={act_dim} do not fit {self.env_id} "
                               f"({' or '.join(map(str, ok))}, {ACT_DIM})")

    def adapt_dataset(self, ds):
        """A dataset as this suite's policies see it: 5-d states become keypoint observations for `pusht`."""
        if not self.keypoints or ds.obs_dim != STATE_DIM:
            return ds
        return dataclasses.replace(ds, observations=keypoint_obs(ds.observations))

    def check_condition(self, condition: str) -> None:
        pass                    # one task; a dataset's labels (e.g. demonstration styles) all play in it

    def make(self, condition: str, render_mode: str | None = None, size: tuple[int, int] | None = None) -> PushTEnv:
        env = PushTEnv(render_mode, self.perturb, self.keypoints)
        if size is not None:
            env.env.visualization_width, env.env.visualization_height = size
        return env

    # one action unit is 256 px (actions are target positions scaled to [-1, 1]); lwd's training records report the
    # generated policies' error in px on the steps that need precision (methods/lwd/precision.py)
    action_unit = (256.0, "px")
    NEAR_GOAL = 0.8                  # coverage above which a step is "near the goal"

    def precision_steps(self, ds) -> dict:
        """The dataset's near-goal steps (coverage above 0.8, read from `infos/coverage`), where success needs
        about 2 px and 0.03 rad; none for a file without coverage."""
        cov = ds.infos.get("coverage")
        return {} if cov is None else {"near_goal": np.asarray(cov).reshape(-1) > self.NEAR_GOAL}

    def reference_policies(self) -> dict:
        """Policies every PushT score is read against: "hold still" keeps the agent where it is (its target is its
        own position), which scores the start states' own overlap with the goal."""
        agent = slice(16, 18) if self.keypoints else slice(0, 2)
        return {"hold still": lambda obs: (np.asarray(obs)[:, agent] / 256.0 - 1.0).astype(np.float32)}

    def expert(self, condition: str):
        raise LWDError("pusht has no evaluation expert: its demonstrator (`collect pusht`) plans over a replica of "
                       "the world, too slow for lock-step evaluation")

    def with_perturbations(self) -> "PushTSuite":
        return dataclasses.replace(self, perturb=True)


register_suite(ENV_ID, PushTSuite)
register_suite(STATE_ENV_ID, PushTSuite)
