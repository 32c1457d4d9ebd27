"""One episode of any trained method's batch policy, at a chosen action horizon, behind the single-policy
reset()/act() contract that `rollout()` and the app's viewer use. The same batch policies as in evaluation, so what
the viewer plays is what a study point measured."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..envs.registry import get_suite
from ..errors import LWDError
from ..methods.registry import load_trained
from ..seeds import suite_start_seed
from ..types import TrainedMethod


class OneEpisode:
    """A batch policy for one episode, built at the first observation (state-conditioned methods need it)."""

    def __init__(self, trained: TrainedMethod, kind: str, cid: int, ecfg, seed: int):
        self.trained, self.kind, self.cid, self.ecfg, self.seed = trained, kind, cid, ecfg, seed
        self.batch = None

    def reset(self) -> None:
        self.batch = None

    def act(self, obs: np.ndarray) -> np.ndarray:
        o = np.asarray(obs, np.float32)[None]                                  # (1, obs_dim)
        if self.batch is None:
            self.batch = self.trained.batch_policy(self.kind, self.cid, 1, self.ecfg, self.seed, o)
        return np.asarray(self.batch(o))[0]

    @property
    def queries(self) -> int:
        return int(np.sum(getattr(self.batch, "queries", 0)))


def horizon_player(run_dir, kind: str, action_horizon: int, seed: int | None = None, perturb: bool = False,
                   condition: str | None = None, size: tuple[int, int] | None = None, trained=None):
    """(env, policy, condition, seed) to play `kind` of a trained run at H_a = action_horizon (0 = the run's own),
    with the suite's seeded perturbations when asked; the env renders rgb_array frames of `size`. seed=None picks
    one of the suite's held-out evaluation start states at random."""
    trained = trained or load_trained(run_dir)
    suite = get_suite(trained.env_id)
    if perturb:
        if not hasattr(suite, "with_perturbations"):
            raise LWDError(f"{trained.env_id} offers no perturbations")
        suite = suite.with_perturbations()
    cond = condition or trained.label_names[0]
    cid = trained.condition_id(cond)
    ecfg = dataclasses.replace(trained.cfg.eval, action_horizon=int(action_horizon), perturb=bool(perturb))
    if seed is None:
        seed = suite_start_seed(suite, "play", 0, int(np.random.randint(0, 1_000_000)))
    env = suite.make(cond, render_mode="rgb_array", size=size)
    return env, OneEpisode(trained, kind, cid, ecfg, seed), cond, seed
