"""A trained MLP-BC run behind the TrainedMethod contract."""
from __future__ import annotations

import numpy as np
import torch

from ...errors import LWDError
from ..baseline_load import load_baseline
from .model import build


class MLPBatch:
    def __init__(self, model, task: int):
        self.model, self.task = model, task

    @torch.no_grad()
    def __call__(self, obs: np.ndarray) -> np.ndarray:
        o = torch.as_tensor(np.asarray(obs, np.float32))
        return self.model(o, torch.full((len(o),), self.task, dtype=torch.long)).numpy()


class TrainedMLPBC:
    policy_kinds = ("mlp_bc",)

    def __init__(self, run_dir):
        self.cfg, self.model, self.meta = load_baseline(run_dir, build)
        self.label_names = list(self.meta["label_names"])
        self.env_id = str(self.meta["env_id"])
        self.n_params = int(self.meta["n_params"])

    def condition_id(self, name: str) -> int:
        if name not in self.label_names:
            raise LWDError(f"unknown condition {name!r}; this run knows: {', '.join(self.label_names)}")
        return self.label_names.index(name)

    def needs_demos(self, kind: str) -> bool:
        return False

    def batch_policy(self, kind, cid, n, ecfg, seed, init_obs, demos=None) -> MLPBatch:
        return MLPBatch(self.model, cid)

    def extra_metrics(self, batches) -> dict:
        return {}
