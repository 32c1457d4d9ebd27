"""Diffusion Policy training: eps-prediction MSE on action chunks, through the shared baseline loop."""
from __future__ import annotations

from ...config import RunConfig
from ..baseline_train import train_baseline
from .model import build


def _loss(model, obs_hist, task, act_chunk, rng):
    return model.loss(obs_hist, task, act_chunk.clamp(-1, 1), rng)


def train(run, cfg: RunConfig, resume: bool, cancel):
    b = cfg.baseline
    return train_baseline(run, cfg, resume, cancel, build, _loss, n_obs=b.n_obs, horizon=b.horizon,
                          weight_decay=1e-6)
