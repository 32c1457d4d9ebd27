"""A trained MLP-BC run behind the TrainedMethod contract."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...errors import LWDError
from ...export import MLPWeights
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

    @torch.no_grad()
    def mlp_weights(self) -> MLPWeights:
        """This task's policy as plain arrays (onnx_export.py). The task's one-hot input is constant, so it is
        folded into the first layer's bias: W [s; e_task] + b = W[:, :obs_dim] s + (b + W[:, obs_dim + task])."""
        m = self.model
        acts = {type(x) for x in m.net if not isinstance(x, nn.Linear)}
        if acts != {nn.ReLU}:
            raise LWDError(f"cannot export an MLP-BC policy with hidden activations {sorted(a.__name__ for a in acts)}")
        lin = [x for x in m.net if isinstance(x, nn.Linear)]
        W0, b0 = lin[0].weight.numpy(), lin[0].bias.numpy()                     # (width, obs_dim + n_tasks)
        layers = [(W0[:, :m.obs_dim].T, b0 + W0[:, m.obs_dim + self.task])]
        layers += [(x.weight.numpy().T, x.bias.numpy()) for x in lin[1:]]
        return MLPWeights([(np.ascontiguousarray(W, np.float32), b.astype(np.float32)) for W, b in layers],
                          m.obs_mean.numpy().astype(np.float32), (1.0 / m.obs_std).numpy().astype(np.float32),
                          "relu", bool(m.tanh_output))
