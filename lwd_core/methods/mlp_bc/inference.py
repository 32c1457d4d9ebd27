"""A trained MLP-BC run behind the TrainedMethod contract."""
from __future__ import annotations

import numpy as np
import torch

from ...policy_file import save_policy
from ..baseline_load import TrainedBaseline
from .model import MLPBCPolicy, build


class MLPBatch:
    def __init__(self, model, task: int):
        self.model, self.task = model, task

    @torch.no_grad()
    def __call__(self, obs: np.ndarray, live: np.ndarray | None = None) -> np.ndarray:
        o = torch.as_tensor(np.asarray(obs, np.float32))
        return self.model(o, torch.full((len(o),), self.task, dtype=torch.long)).numpy()


class TrainedMLPBC(TrainedBaseline):
    policy_kinds = ("mlp_bc",)

    def __init__(self, run_dir):
        super().__init__(run_dir, build)

    def batch_policy(self, kind, cid, n, ecfg, seed, init_obs, demos=None) -> MLPBatch:
        return MLPBatch(self.model, cid)

    def single_policy(self, cid, seed=0, sampler=None, first_obs=None) -> "MLPBCFile":
        """The policy of condition `cid` for methods/registry.py:sample_policy."""
        return MLPBCFile(self.model, cid)


class MLPBCFile(MLPBCPolicy):
    """An MLP-BC policy whose file also records `info` (where it came from); MLPBCPolicy.load reads it back."""

    @property
    def n_params(self) -> int:
        return self.model.n_params

    def save(self, path, info: dict | None = None) -> None:
        save_policy(path, self.model.state_dict(), {**(info or {}), **self.model.spec(), "task": self.task})
