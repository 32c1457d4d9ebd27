"""MLP-BC training: action MSE on single steps, through the shared baseline loop."""
from __future__ import annotations

from ...config import RunConfig
from ..baseline_train import train_baseline
from .model import build


def _loss(model, obs_hist, task, act_chunk, rng):
    return (model(obs_hist[:, 0], task) - act_chunk[:, 0]).pow(2).mean()


def train(run, cfg: RunConfig, resume: bool, cancel):
    return train_baseline(run, cfg, resume, cancel, build, _loss, n_obs=1, horizon=1)
