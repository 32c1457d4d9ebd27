"""Rough estimates of a training's work, in core-seconds, for one thing only: the order in which an executor that
runs several units at once starts them (Plan.chain_costs), longest chain first. Only their ratios matter. They
come from step timings of the PushT presets with one torch thread on the 2-core AMD EPYC reference machine (two
trainings side by side); other machines scale them about evenly."""
from __future__ import annotations

from ..config import RunConfig

# Diffusion Policy-large at batch 256: the U-Net's step grows with the prediction horizon H_p (0.47 s at 20,
# 1.85 s at 132), seconds per step = DP_STEP_S[0] + DP_STEP_S[1] * H_p
DP_STEP_S = (0.22, 0.0123)
# LWD's VAE and latent-denoiser steps at the pusht-state preset's batch sizes (their two-thread timings, about 8
# and 10 steps/s, times the 1.4 that one thread costs Diffusion Policy)
LWD_STEP_S = {"vae": 0.085, "ddpm": 0.14}


def train_cost(cfg: RunConfig) -> float:
    """Estimated core-seconds of training `cfg` from scratch (0 for a method without an estimate)."""
    if cfg.method == "diffusion_policy":
        b = cfg.baseline
        return b.steps * b.batch_size / 256 * (DP_STEP_S[0] + DP_STEP_S[1] * b.horizon)
    if cfg.method == "lwd":
        return cfg.vae.steps * LWD_STEP_S["vae"] + cfg.ddpm.steps * LWD_STEP_S["ddpm"]
    return 0.0
