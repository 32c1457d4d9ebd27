"""A trained Diffusion Policy run behind the TrainedMethod contract: B receding-horizon policies in lock-step."""
from __future__ import annotations

import numpy as np
import torch

from ...errors import LWDError
from ..baseline_load import TrainedBaseline
from .model import DiffusionPolicy, build, from_checkpoint


class DPBatch:
    """B receding-horizon Diffusion Policies in lock-step: one batched diffusion query every H_a steps for the
    episodes still running. `queries` (B,) counts each episode's queries, ceil(length / H_a)."""

    def __init__(self, model, task: int, ddim_steps: int | None, seed: int, n_action: int | None = None):
        self.model, self.task, self.steps = model, task, ddim_steps
        self.n_action = n_action or model.spec.n_action      # H_a: actions executed from each predicted chunk
        self.gen = torch.Generator().manual_seed(seed)
        self.hist = None
        self.plan: np.ndarray | None = None                   # (B, H_a, act_dim): the chunk each episode executes
        self.t = 0
        self.queries: np.ndarray | None = None

    @torch.no_grad()
    def __call__(self, obs: np.ndarray, live: np.ndarray | None = None) -> np.ndarray:
        o = torch.as_tensor(np.asarray(obs, np.float32))                      # (B, obs_dim)
        B, sp = len(o), self.model.spec
        live = np.ones(B, bool) if live is None else np.asarray(live, bool)
        self.hist = o[:, None].repeat(1, sp.n_obs, 1) if self.hist is None else torch.cat([self.hist[:, 1:], o[:, None]], 1)
        if self.queries is None:
            self.queries = np.zeros(B, np.int64)
        k = self.t % self.n_action
        if k == 0 and live.any():
            idx = np.flatnonzero(live)
            chunk = self.model.sample(self.hist[idx], torch.full((len(idx),), self.task, dtype=torch.long), self.steps,
                                      self.gen).numpy()                       # (k, H, act_dim)
            if self.plan is None:
                self.plan = np.zeros((B, self.n_action, chunk.shape[-1]), np.float32)
            self.plan[idx] = chunk[:, sp.n_obs - 1:sp.n_obs - 1 + self.n_action]
            self.queries[idx] += 1
        self.t += 1
        return self.plan[:, k]


class TrainedDP(TrainedBaseline):
    policy_kinds = ("diffusion_policy",)

    def __init__(self, run_dir):
        super().__init__(run_dir, build, from_checkpoint)      # the EMA weights and their normalisers
        self.ddim_steps = self.cfg.baseline.ddim_steps or None     # 0 = the full DDPM chain

    @property
    def sampler(self) -> str:
        return "ddim" if self.ddim_steps else "ddpm"

    def batch_policy(self, kind, cid, n, ecfg, seed, init_obs, demos=None) -> DPBatch:
        """eval.action_horizon > 0 executes that many actions of each predicted chunk instead of the trained H_a;
        the chunk must hold them: n_obs - 1 + H_a <= the prediction horizon."""
        sp, h = self.model.spec, int(getattr(ecfg, "action_horizon", 0) or 0)
        if h and sp.n_obs - 1 + h > sp.horizon:
            raise LWDError(f"this Diffusion Policy predicts {sp.horizon} steps from {sp.n_obs} observations: "
                           f"an action horizon of at most {sp.horizon - sp.n_obs + 1}, not {h}")
        return DPBatch(self.model, cid, self.ddim_steps, seed, h or None)

    def single_policy(self, cid, seed=0, sampler=None, first_obs=None) -> "DPFile":
        """The receding-horizon policy of condition `cid` for methods/registry.py:sample_policy; sampler "ddpm" runs
        the full chain, any other the run's own sampler."""
        return DPFile(self.model, cid, None if sampler == "ddpm" else self.ddim_steps, seed)

    def extra_metrics(self, batches) -> dict:
        if not batches:
            return {"queries_per_episode": 0.0}
        return {"queries_per_episode": float(np.mean(np.concatenate([b.queries for _, b in batches]))),
                "action_horizon": batches[0][1].n_action}


class DPFile(DiffusionPolicy):
    """A Diffusion Policy as one policy file. Its sidecar has no room for `info`: DiffusionPolicy.load reads every
    key but task and ddim_steps as the model's spec."""

    @property
    def n_params(self) -> int:
        return self.model.n_params

    def save(self, path, info: dict | None = None) -> None:
        super().save(path)
