"""Multi-task MLP behaviour cloning (paper Table 2 baseline): 5 equal hidden layers, task one-hot appended."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ...errors import LWDError
from ...policy_file import load_policy, save_policy


class MLPBC(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, n_tasks: int, width: int = 512, depth: int = 5,
                 tanh_output: bool = True):
        super().__init__()
        self.obs_dim, self.act_dim, self.n_tasks = obs_dim, act_dim, n_tasks
        self.width, self.depth, self.tanh_output = width, depth, tanh_output
        dims = [obs_dim + n_tasks] + [width] * depth
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(width, act_dim))
        self.net = nn.Sequential(*layers)
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))

    def forward(self, obs: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        # obs (B, obs_dim) raw, task (B,) int -> (B, act_dim)
        x = torch.cat([(obs - self.obs_mean) / self.obs_std,
                       nn.functional.one_hot(task, self.n_tasks).to(obs.dtype)], dim=-1)
        y = self.net(x)
        return torch.tanh(y) if self.tanh_output else y

    def spec(self) -> dict:
        return {"kind": "mlp_bc", "obs_dim": self.obs_dim, "act_dim": self.act_dim, "n_tasks": self.n_tasks,
                "width": self.width, "depth": self.depth, "tanh_output": self.tanh_output}

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.net.parameters())


class MLPBCPolicy:
    """The policy contract around a trained MLPBC for one task."""

    def __init__(self, model: MLPBC, task: int = 0):
        self.model = model.eval()
        self.task = task

    def reset(self) -> None:
        pass

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        o = torch.as_tensor(np.asarray(obs, np.float32))[None]
        return self.model(o, torch.tensor([self.task]))[0].numpy()

    def save(self, path: str | Path) -> None:
        save_policy(path, self.model.state_dict(), {**self.model.spec(), "task": self.task})

    @classmethod
    def load(cls, path: str | Path) -> "MLPBCPolicy":
        t, spec = load_policy(path, "mlp_bc")
        try:
            model = MLPBC(spec["obs_dim"], spec["act_dim"], spec["n_tasks"], spec["width"], spec["depth"],
                          spec["tanh_output"])
            model.load_state_dict({k: torch.from_numpy(v) for k, v in t.items()})
        except (KeyError, TypeError, RuntimeError) as e:
            raise LWDError(f"{path}: not a valid mlp_bc policy file ({type(e).__name__}: {str(e).splitlines()[0]})") from None
        return cls(model, int(spec.get("task", 0)))


def build(cfg, obs_dim: int, act_dim: int, n_tasks: int, tanh: bool, obs_mean=None, obs_std=None) -> MLPBC:
    m = MLPBC(obs_dim, act_dim, n_tasks, cfg.baseline.width, 5, tanh)
    if obs_mean is not None:
        m.obs_mean.copy_(torch.as_tensor(obs_mean))
        m.obs_std.copy_(torch.as_tensor(obs_std))
    return m
