"""Diffusion Policy training: eps-prediction MSE on action chunks, through the shared baseline loop, with Chi et
al.'s recipe: AdamW (betas 0.95/0.999, weight decay 1e-6), linear warm-up then a cosine to 0, an EMA of the weights
(the evaluated ones), min-max normalisation and their SequenceSampler's episode-end padding."""
from __future__ import annotations

import math
from functools import partial

from ...config import RunConfig
from ..baseline_train import train_baseline
from .model import build


BETAS, WEIGHT_DECAY = (0.95, 0.999), 1e-6


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """The learning-rate factor of the update after `step` updates (diffusers' get_cosine_schedule_with_warmup, as
    Chi et al.): step / w during the warm-up of w = min(warmup, total // 2) steps, 1 at its end, then a half cosine
    reaching 0 at `total`. Steps past the last (a finished run trained further) keep the last update's factor."""
    w = min(warmup, total // 2)
    step = min(step, total - 1)
    if step < w:
        return step / w
    return 0.5 * (1 + math.cos(math.pi * (step - w) / max(1, total - w)))


def _loss(model, obs_hist, task, act_chunk, rng):
    return model.loss(obs_hist, task, act_chunk, rng)      # the model normalises the actions


def train(run, cfg: RunConfig, resume: bool, cancel):
    b = cfg.baseline
    return train_baseline(run, cfg, resume, cancel, build, _loss, n_obs=b.n_obs, horizon=b.horizon,
                          weight_decay=WEIGHT_DECAY, betas=BETAS, pad_after=b.n_action - 1, limits=True, ema=True,
                          schedule=partial(warmup_cosine, warmup=b.dp_warmup))
