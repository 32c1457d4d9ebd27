"""A trained MLP-BC run behind the TrainedMethod contract."""
from __future__ import annotations

import numpy as np
import torch

from ..baseline_load import TrainedBaseline
from .model import build


class MLPBatch:
    def __init__(self, model, task: int):
        self.model, self.task = model, task

    @torch.no_grad()
    def __call__(self, obs: np.ndarray) -> np.ndarray:
        o = torch.as_tensor(np.asarray(obs, np.float32))
        return self.model(o, torch.full((len(o),), self.task, dtype=torch.long)).numpy()


class TrainedMLPBC(TrainedBaseline):
    policy_kinds = ("mlp_bc",)

    def __init__(self, run_dir):
        super().__init__(run_dir, build)

    def batch_policy(self, kind, cid, n, ecfg, seed, init_obs, demos=None) -> MLPBatch:
        return MLPBatch(self.model, cid)
