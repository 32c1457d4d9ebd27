"""The small contracts every piece plugs into: policies, batch policies, environments, suites, methods, studies.

They are typing Protocols, so a new suite or method needs no base class; the registries in `envs/`, `methods/` and
`studies/` hold the instances."""
from __future__ import annotations

from typing import Any, Callable, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Policy(Protocol):
    """One closed-loop policy: the contract shared by LWD's generated MLP and every baseline."""

    def reset(self) -> None: ...

    def act(self, obs: np.ndarray) -> np.ndarray: ...              # (obs_dim,) -> (act_dim,)


class BatchPolicy(Protocol):
    """B policies stepped together: one call per control step for all episodes of a batch. `live` (B,) marks the
    episodes still running: a finished episode is neither queried (no diffusion query, no re-sampling) nor counted,
    and its row of the returned actions is ignored; None means every episode is live. A class may also offer
    `concat(batches) -> batch` (a classmethod), which evaluation uses to step several conditions' batches as one,
    e.g. one matmul per layer over every generated policy; without it the batches are called one after another."""

    def __call__(self, obs: np.ndarray, live: np.ndarray | None = None) -> np.ndarray: ...   # (B, obs_dim) -> (B, act_dim)


class Env(Protocol):
    """Gymnasium-style episode interface; `reset(seed)` fully determines the episode's start."""
    max_episode_steps: int | None

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict]: ...

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]: ...

    def render(self) -> np.ndarray: ...

    def close(self) -> None: ...


class EnvSuite(Protocol):
    """A family of environments behind one env id (see `envs/registry.py`). Instances must pickle: worker
    processes receive the suite and build their environments from it.

    Episode start states come from `seeds.py`'s named streams ("collect", "eval", ...), disjoint by construction.
    A suite may define `start_seed(stream, seed, *key) -> int` to keep a scheme of its own that is disjoint too."""
    env_id: str
    has_success: bool                # episodes report info["success"] / info["is_success"]
    has_expert: bool                 # expert(condition) gives a scripted expert
    episode_variation: str           # what evaluation seeds vary, for reports: "placements", "seeds", ...

    def episode_length(self) -> int: ...

    def check_dims(self, obs_dim: int, act_dim: int, source: str) -> None: ...

    def check_condition(self, condition: str) -> None: ...

    def make(self, condition: str, render_mode: str | None = None, size: tuple[int, int] | None = None) -> Env: ...


    def expert(self, condition: str) -> Policy: ...


class TrainedMethod(Protocol):
    """What evaluation needs from a trained run of any method (`methods/*/inference.py`)."""
    env_id: str
    label_names: list[str]
    policy_kinds: tuple[str, ...]    # evaluated by default, e.g. ("lwd", "vae") for LWD, ("mlp_bc",) for MLP-BC
    extra_kinds: tuple[str, ...]     # evaluated only when asked for by name, e.g. LWD's "vae_train"
    n_params: int

    def condition_id(self, name: str) -> int: ...

    def needs_demos(self, kind: str) -> bool: ...

    def batch_policy(self, kind: str, cid: int, n: int, ecfg: Any, seed: int, init_obs: np.ndarray,
                     demos: Sequence[dict] | None = None) -> BatchPolicy: ...

    def heldout_demos(self, cid: int, n: int) -> list[dict]: ...

    def extra_metrics(self, batches: Sequence[tuple[int, BatchPolicy]]) -> dict: ...


class Study(Protocol):
    """A paper table or figure: declares a plan of its units (data, trainings, evaluations), which an executor
    runs; then aggregates and writes its report (lwd_core/studies/registry.py: StudySpec)."""
    name: str
    title: str
    options: dict[str, tuple[type, Any, str]]      # extra CLI options: name -> (type, default, help)

    def run(self, args: Any, executor: Any = None) -> Iterator[Any]: ...


Cancel = Callable[[], bool]
