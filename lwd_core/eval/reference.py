"""A suite's reference policies behind the TrainedMethod contract, so they are evaluated on exactly the start
states, perturbations and scoring the trained methods meet. PushT's is the agent that holds still: the floor a
score must clear (many start states already overlap the goal a little)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..envs.registry import get_suite
from ..errors import LWDError


class _Fixed:
    """A reference policy for a batch of episodes: obs (B, obs_dim) -> actions (B, act_dim), no state."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]):
        self.fn = fn

    def __call__(self, obs: np.ndarray, live: np.ndarray | None = None) -> np.ndarray:
        return self.fn(obs)


class SuiteReference:
    extra_kinds: tuple[str, ...] = ()
    n_params = 0

    def __init__(self, env_id: str, label_names: Sequence[str]):
        suite = get_suite(env_id)
        refs = getattr(suite, "reference_policies", None)
        self.policies: dict[str, Callable] = dict(refs()) if refs is not None else {}
        if not self.policies:
            raise LWDError(f"{env_id} has no reference policies")
        self.env_id, self.label_names = env_id, list(label_names)
        self.policy_kinds = tuple(self.policies)

    def condition_id(self, name: str) -> int:
        if name not in self.label_names:
            raise LWDError(f"unknown condition {name!r}; choose from {', '.join(self.label_names)}")
        return self.label_names.index(name)

    def needs_demos(self, kind: str) -> bool:
        return False

    def batch_policy(self, kind, cid, n, ecfg, seed, init_obs, demos=None) -> _Fixed:
        return _Fixed(self.policies[kind])

    def heldout_demos(self, cid: int, n: int) -> list[dict]:
        return []

    def extra_metrics(self, batches) -> dict:
        return {}
